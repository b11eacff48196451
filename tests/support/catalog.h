// Builds test catalogs with a fixed seed, and reads back what the store
// wrote, with plain SQL that is independent of the store's own queries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace imgbackfill::testing {

inline constexpr const char* kCurrentModel = "local-descriptor-v1";
inline constexpr const char* kOldModel = "text-embedding-3-small";

struct CatalogSpec {
  int64_t images = 1000;
  uint32_t seed = 42;
  double product_share = 0.4;  // images that belong to a product
  double primary_share = 0.5;  // of those, the product's primary image
  double inactive_share = 0.05;
  double current_share = 0.2;  // already embedded with kCurrentModel
  double other_share = 0.1;    // embedded with kOldModel
};

// Creates a migrated SQLite catalog at `path` holding ids 1..spec.images.
void MakeSqliteCatalog(const std::string& path, const CatalogSpec& spec);

struct ImageRow {
  int64_t id;
  bool has_product;
  bool is_primary;
  bool active;
  std::optional<std::string> embedding_model;
};
std::vector<ImageRow> ReadImages(const std::string& path);

struct JobRow {
  int64_t id;
  int64_t image_id;
  std::string state;
};
std::vector<JobRow> ReadJobs(const std::string& path);  // by job id

// The ids a backfill for `model` should queue, in order, computed in C++
// from the image rows alone (no jobs exist yet when this is used).
std::vector<int64_t> ExpectedOrder(const std::vector<ImageRow>& images, const std::string& model,
                                   bool product_images_only);

// Direct writes for setting up states the backfill must respect.
void Exec(const std::string& path, const std::string& sql);
int64_t QueryInt(const std::string& path, const std::string& sql);
// The first column of the first row as text; "" for no row or NULL.
std::string QueryText(const std::string& path, const std::string& sql);

}  // namespace imgbackfill::testing
