#include "support/catalog.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <algorithm>
#include <random>

#include "imgbackfill/store.h"

namespace imgbackfill::testing {

void MakeSqliteCatalog(const std::string& path, const CatalogSpec& spec) {
  OpenStore(path, OpenOptions{.create = true})->Migrate();
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  SQLite::Transaction tx(db);
  SQLite::Statement insert(db,
                           "INSERT INTO images (id, location, product_id, is_primary, active,"
                           " embedding_model) VALUES (?, ?, ?, ?, ?, ?)");
  for (int64_t id = 1; id <= spec.images; ++id) {
    insert.reset();
    insert.bind(1, id);
    insert.bind(2, "/catalog/img-" + std::to_string(id) + ".jpg");
    const bool product = u(rng) < spec.product_share;
    if (product) {
      insert.bind(3, "product-" + std::to_string(id / 3));
    } else {
      insert.bind(3);
    }
    insert.bind(4, product && u(rng) < spec.primary_share ? 1 : 0);
    insert.bind(5, u(rng) < spec.inactive_share ? 0 : 1);
    const double e = u(rng);
    if (e < spec.current_share) {
      insert.bind(6, kCurrentModel);
    } else if (e < spec.current_share + spec.other_share) {
      insert.bind(6, kOldModel);
    } else {
      insert.bind(6);
    }
    insert.exec();
  }
  tx.commit();
}

std::vector<ImageRow> ReadImages(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement st(db,
                       "SELECT id, product_id IS NOT NULL, is_primary, active, embedding_model"
                       " FROM images ORDER BY id");
  std::vector<ImageRow> rows;
  while (st.executeStep()) {
    ImageRow row{st.getColumn(0).getInt64(), st.getColumn(1).getInt() != 0,
                 st.getColumn(2).getInt() != 0, st.getColumn(3).getInt() != 0, std::nullopt};
    if (!st.getColumn(4).isNull()) row.embedding_model = st.getColumn(4).getString();
    rows.push_back(row);
  }
  return rows;
}

std::vector<JobRow> ReadJobs(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement st(db, "SELECT id, image_id, state FROM jobs ORDER BY id");
  std::vector<JobRow> rows;
  while (st.executeStep()) {
    rows.push_back(
        {st.getColumn(0).getInt64(), st.getColumn(1).getInt64(), st.getColumn(2).getString()});
  }
  return rows;
}

std::vector<int64_t> ExpectedOrder(const std::vector<ImageRow>& images, const std::string& model,
                                   bool product_images_only) {
  std::vector<std::pair<int, int64_t>> keyed;
  for (const ImageRow& image : images) {
    if (!image.active || image.embedding_model == model) continue;
    const int group = image.has_product && image.is_primary ? 0 : 1;
    if (product_images_only && group != 0) continue;
    keyed.emplace_back(group, image.id);
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> ids;
  for (const auto& [group, id] : keyed) ids.push_back(id);
  return ids;
}

void Exec(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  db.exec(sql);
}

int64_t QueryInt(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement st(db, sql);
  st.executeStep();
  return st.getColumn(0).getInt64();
}

}  // namespace imgbackfill::testing

namespace imgbackfill::testing {

std::string QueryText(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement st(db, sql);
  if (!st.executeStep() || st.getColumn(0).isNull()) return "";
  return st.getColumn(0).getString();
}

}  // namespace imgbackfill::testing
