// Generated catalogs for the benchmarks, cached by shape and size, and the
// per-trial copies every measurement runs on so that each starts from the
// same bytes.
//
// A catalog is a database migrated by imgbackfill itself, filled with plain
// SQL in large transactions from a fixed seed. Only the tables the backfill
// reads or writes are filled (images, jobs); vectors, pHashes and vision
// results are left out, since `run` never reads them and at ten million
// images they would only cost disk.
#pragma once

#include <cstdint>
#include <string>

namespace imgbackfill::bench {

inline constexpr const char* kTargetModel = "local-descriptor-v1";
inline constexpr const char* kOldModel = "text-embedding-3-small";

enum class CatalogShape {
  // A freshly imported catalog: nearly every image is a candidate (90% have
  // no embedding, 5% the old model, 3% the target model, 2% inactive) and
  // no job has run yet.
  kDense,
  // A mature catalog: exactly `candidates` images (one at a random id in each
  // equal block of ids) have no embedding and no job; every other active
  // image has the target model's embedding and one completed job; a few
  // (candidates / 20) have no embedding and a dead latest job, which keeps
  // them out of scope; 2% are inactive.
  kSparse,
};

struct CatalogSpec {
  CatalogShape shape = CatalogShape::kDense;
  int64_t images = 0;
  int64_t candidates = 0;  // kSparse only
  uint32_t seed = 20240601;

  // A file name that changes with anything that changes the contents.
  std::string Name() const;
};

// Every group mix: 40% of images belong to a product, half of those are the
// product's primary image (group 0, about 20% of images); the rest are group 1.
CatalogSpec DenseCatalog(int64_t images);
CatalogSpec SparseCatalog(int64_t images, int64_t candidates);

// Returns the path of the cached catalog in `data_dir`, generating it first
// if it is missing or its schema is not the binary's. The cached file is
// never measured on directly: make a TrialCopy.
std::string EnsureCatalog(const CatalogSpec& spec, const std::string& data_dir);

// A copy of a cached catalog for one trial, removed (with its -wal, -shm and
// lock file) when destroyed. The copy is written through to disk before the
// trial starts: otherwise the trial's first WAL checkpoint, whose fdatasync
// must flush every dirty page of the file, would pay for writing the whole
// copy (gigabytes at 10M images) and the figure would measure the copy.
class TrialCopy {
 public:
  // With `drop_from_page_cache`, the copy is also dropped from the kernel's
  // page cache, so that the trial reads it cold, as a nightly run on an idle
  // machine may.
  TrialCopy(const std::string& master, const std::string& data_dir, const std::string& tag,
            bool drop_from_page_cache = false);
  ~TrialCopy();
  TrialCopy(const TrialCopy&) = delete;
  TrialCopy& operator=(const TrialCopy&) = delete;

  const std::string& path() const { return path_; }
  double copy_seconds() const { return copy_seconds_; }

 private:
  std::string path_;
  double copy_seconds_ = 0;
};

// Removes a database file and its SQLite and imgbackfill side files.
void RemoveDatabase(const std::string& path);

}  // namespace imgbackfill::bench
