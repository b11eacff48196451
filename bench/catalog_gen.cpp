#include "catalog_gen.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string_view>

#include "bench_util.h"
#include "imgbackfill/error.h"
#include "imgbackfill/store.h"

namespace imgbackfill::bench {
namespace fs = std::filesystem;

namespace {

// Bump when the generated contents change, so cached catalogs are remade.
constexpr int kGeneratorVersion = 1;
constexpr const char* kTimestamp = "2024-01-01T00:00:00.000Z";
constexpr int64_t kRowsPerTransaction = 500000;

// splitmix64: the same sequence on every standard library, unlike
// std::uniform_real_distribution.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

void Check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string("catalog generation: ") + what + ": " +
                             sqlite3_errmsg(db));
  }
}

struct Row {
  int64_t id = 0;
  bool product = false;
  bool primary = false;
  bool active = true;
  const char* model = nullptr;      // embedding_model, or NULL
  const char* job_state = nullptr;  // the one job of the image, if any
};

// Inserts images and their jobs with prepared statements, committing every
// kRowsPerTransaction images.
class Writer {
 public:
  explicit Writer(sqlite3* db) : db_(db) {
    Check(db_,
          sqlite3_prepare_v2(db_,
                             "INSERT INTO images (id, product_id, is_primary, active, location,"
                             " embedding_model, created_at, updated_at)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             -1, &image_, nullptr),
          "prepare image insert");
    Check(db_,
          sqlite3_prepare_v2(db_,
                             "INSERT INTO jobs (image_id, kind, args, state, priority, attempt,"
                             " max_attempts, run_at, last_error, created_at, updated_at,"
                             " finished_at) VALUES (?, 'analyze', '{\"force\":false}', ?, ?,"
                             " ?, 3, ?, ?, ?, ?, ?)",
                             -1, &job_, nullptr),
          "prepare job insert");
    Check(db_, sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr), "begin");
  }
  ~Writer() {
    sqlite3_finalize(image_);
    sqlite3_finalize(job_);
  }

  void Add(const Row& r) {
    char location[64];
    char product[32];
    std::snprintf(location, sizeof location, "/srv/catalog/%02x/%010lld.jpg",
                  static_cast<unsigned>(r.id & 0xff), static_cast<long long>(r.id));
    std::snprintf(product, sizeof product, "prod-%09lld", static_cast<long long>(r.id / 3));
    sqlite3_bind_int64(image_, 1, r.id);
    if (r.product) {
      sqlite3_bind_text(image_, 2, product, -1, SQLITE_STATIC);
    } else {
      sqlite3_bind_null(image_, 2);
    }
    sqlite3_bind_int(image_, 3, r.product && r.primary ? 1 : 0);
    sqlite3_bind_int(image_, 4, r.active ? 1 : 0);
    sqlite3_bind_text(image_, 5, location, -1, SQLITE_STATIC);
    if (r.model != nullptr) {
      sqlite3_bind_text(image_, 6, r.model, -1, SQLITE_STATIC);
    } else {
      sqlite3_bind_null(image_, 6);
    }
    sqlite3_bind_text(image_, 7, kTimestamp, -1, SQLITE_STATIC);
    sqlite3_bind_text(image_, 8, kTimestamp, -1, SQLITE_STATIC);
    Check(db_, sqlite3_step(image_), "insert image");
    sqlite3_reset(image_);

    if (r.job_state != nullptr) {
      const bool dead = std::string_view(r.job_state) == "dead";
      sqlite3_bind_int64(job_, 1, r.id);
      sqlite3_bind_text(job_, 2, r.job_state, -1, SQLITE_STATIC);
      sqlite3_bind_int(job_, 3, r.product && r.primary ? 0 : 1);
      sqlite3_bind_int(job_, 4, dead ? 3 : 1);
      sqlite3_bind_text(job_, 5, kTimestamp, -1, SQLITE_STATIC);
      if (dead) {
        sqlite3_bind_text(job_, 6, "decode: not a JPEG file (corrupt header)", -1, SQLITE_STATIC);
      } else {
        sqlite3_bind_null(job_, 6);
      }
      for (int i = 7; i <= 9; ++i) sqlite3_bind_text(job_, i, kTimestamp, -1, SQLITE_STATIC);
      Check(db_, sqlite3_step(job_), "insert job");
      sqlite3_reset(job_);
    }
    if (++rows_ % kRowsPerTransaction == 0) {
      Check(db_, sqlite3_exec(db_, "COMMIT; BEGIN", nullptr, nullptr, nullptr), "commit");
    }
  }

  void Finish() { Check(db_, sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr), "commit"); }

 private:
  sqlite3* db_;
  sqlite3_stmt* image_ = nullptr;
  sqlite3_stmt* job_ = nullptr;
  int64_t rows_ = 0;
};

void FillDense(const CatalogSpec& spec, Writer& writer) {
  Random random(spec.seed);
  for (int64_t id = 1; id <= spec.images; ++id) {
    Row r;
    r.id = id;
    r.product = random.Uniform() < 0.4;
    r.primary = random.Uniform() < 0.5;
    r.active = random.Uniform() >= 0.02;
    const double e = random.Uniform();
    r.model = e < 0.03 ? kTargetModel : e < 0.08 ? kOldModel : nullptr;
    writer.Add(r);
  }
}

void FillSparse(const CatalogSpec& spec, Writer& writer) {
  Random random(spec.seed);
  const int64_t block = spec.images / spec.candidates;
  const double dead_share =
      static_cast<double>(spec.candidates) / 20.0 / static_cast<double>(spec.images);
  int64_t candidate = 0;
  for (int64_t id = 1; id <= spec.images; ++id) {
    const int64_t index = (id - 1) / block;
    if ((id - 1) % block == 0 && index < spec.candidates) {
      candidate =
          index * block + 1 + static_cast<int64_t>(random.Next() % static_cast<uint64_t>(block));
    }
    Row r;
    r.id = id;
    r.product = random.Uniform() < 0.4;
    r.primary = random.Uniform() < 0.5;
    const double u = random.Uniform();
    if (id == candidate && index < spec.candidates) {
      r.model = nullptr;  // a candidate: active, no embedding, no job
    } else if (u < 0.02) {
      r.active = false;
      r.model = u < 0.01 ? kTargetModel : nullptr;
    } else if (u < 0.02 + dead_share) {
      r.job_state = "dead";
    } else {
      r.model = kTargetModel;
      r.job_state = "completed";
    }
    writer.Add(r);
  }
}

void Generate(const CatalogSpec& spec, const std::string& path) {
  RemoveDatabase(path);
  OpenStore(path, OpenOptions{.create = true})->Migrate();
  sqlite3* db = nullptr;
  Check(db, sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), "open");
  try {
    // A scratch file until renamed into place: no journal, no fsync, a 1 GiB cache.
    Check(db,
          sqlite3_exec(db,
                       "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                       " PRAGMA cache_size = -1048576; PRAGMA foreign_keys = OFF;",
                       nullptr, nullptr, nullptr),
          "pragmas");
    {
      Writer writer(db);
      if (spec.shape == CatalogShape::kDense) {
        FillDense(spec, writer);
      } else {
        FillSparse(spec, writer);
      }
      writer.Finish();
    }
    // Back to WAL, as imgbackfill leaves its databases.
    Check(db, sqlite3_exec(db, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr), "wal");
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
}

}  // namespace

std::string CatalogSpec::Name() const {
  return shape == CatalogShape::kDense
             ? Format("dense-%lld-s%u-g%d", static_cast<long long>(images), seed, kGeneratorVersion)
             : Format("sparse-%lld-c%lld-s%u-g%d", static_cast<long long>(images),
                      static_cast<long long>(candidates), seed, kGeneratorVersion);
}

CatalogSpec DenseCatalog(int64_t images) { return {CatalogShape::kDense, images, 0}; }

CatalogSpec SparseCatalog(int64_t images, int64_t candidates) {
  return {CatalogShape::kSparse, images, candidates};
}

std::string EnsureCatalog(const CatalogSpec& spec, const std::string& data_dir) {
  fs::create_directories(data_dir);
  const std::string path = data_dir + "/catalog-" + spec.Name() + ".db";
  if (fs::exists(path)) {
    try {
      OpenStore(path)->RequireCurrentSchema();
      return path;
    } catch (const Error& e) {
      std::fprintf(stderr, "cached %s is stale (%s); regenerating\n", path.c_str(), e.what());
    }
  }
  const std::string partial = path + ".partial-" + std::to_string(::getpid());
  std::fprintf(stderr, "generating %s ...\n", path.c_str());
  Stopwatch clock;
  try {
    Generate(spec, partial);
    if (spec.shape == CatalogShape::kSparse) {
      const ScopeCounts counts = OpenStore(partial)->CountCandidates(Scope{kTargetModel});
      if (counts.total() != spec.candidates) {
        throw std::runtime_error(Format("generated %lld candidates, wanted %lld",
                                        static_cast<long long>(counts.total()),
                                        static_cast<long long>(spec.candidates)));
      }
    }
  } catch (...) {
    RemoveDatabase(partial);
    throw;
  }
  RemoveDatabase(path);
  fs::rename(partial, path);
  std::fprintf(stderr, "generated %s in %.1f s (%.0f MiB)\n", path.c_str(), clock.Seconds(),
               static_cast<double>(fs::file_size(path)) / (1024.0 * 1024.0));
  return path;
}

TrialCopy::TrialCopy(const std::string& master, const std::string& data_dir, const std::string& tag,
                     bool drop_from_page_cache)
    : path_(data_dir + "/trial-" + tag + ".db") {
  RemoveDatabase(path_);
  Stopwatch clock;
  fs::copy_file(master, path_);
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fdatasync(fd) == 0;
  if (synced && drop_from_page_cache) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (fd >= 0) ::close(fd);
  if (!synced) throw std::runtime_error("cannot write " + path_ + " through to disk");
  copy_seconds_ = clock.Seconds();
}

TrialCopy::~TrialCopy() { RemoveDatabase(path_); }

void RemoveDatabase(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal", ".backfill-lock"}) {
    fs::remove(path + suffix, ec);
  }
}

}  // namespace imgbackfill::bench
