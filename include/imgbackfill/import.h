// Import: registers images in the catalog from a directory tree or from a
// manifest (CSV or JSON lines), idempotently. docs/import.md describes the
// formats for users; this header states the contract for callers.
//
// - A directory is walked recursively in sorted path order (so that new ids
//   are deterministic), skipping hidden files and directories and not
//   following symbolic links to directories. Every file with an image
//   extension is registered by its absolute path, without a product, active.
//   A file already registered at that location is left exactly as it is
//   (its id, product and active flag are kept): a re-scan only adds.
// - A manifest row with an id is upserted by id; a row without one keeps the
//   id of the image already at its location, or gets a new id. Importing the
//   same manifest twice changes nothing the second time.
// - A bad row is rejected with its line number and the good rows of the same
//   file still land. A bad header (unknown, duplicate or missing column)
//   refuses the whole file: nothing of it lands.
// - A key (the id, or the location of a row without an id) given twice in
//   one file: the first row wins and the later one is rejected, naming the
//   line of the first. A later file of the same invocation may update rows
//   an earlier one wrote.
// - Rows reach the store in batches of kImportBatchSize, one transaction per
//   batch. A store failure (busy, read-only) throws: the batches before it
//   have landed, and running the import again is safe.
// - Memory stays flat in the size of a directory tree; for a manifest it
//   grows with the number of distinct keys (to catch duplicates).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "imgbackfill/store.h"

namespace imgbackfill {

inline constexpr size_t kImportBatchSize = 1000;
// Problems kept per path; the count of rejected rows goes on past it.
inline constexpr size_t kImportProblemsKept = 1000;

struct ImportProblem {
  std::string file;  // as the user named it, or the subdirectory that failed
  int64_t line = 0;  // 1-based; 0 when the problem is about the file as a whole
  std::string message;
};

struct ImportReport {
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t unchanged = 0;
  int64_t rejected = 0;  // manifest rows that did not land
  bool refused = false;  // the whole manifest was refused (bad header); nothing landed
  std::vector<ImportProblem> problems;  // at most kImportProblemsKept, in file order
  int64_t total() const { return inserted + updated + unchanged; }
  bool clean() const { return rejected == 0 && !refused && problems.empty(); }
};

enum class ImportSource { kDirectory, kCsv, kJsonLines };

// What `path` is, checked without importing anything: a directory, or a
// readable file ending in .csv, .jsonl or .ndjson (case-insensitive).
// Throws kUsage for a path that does not exist or a file of another kind,
// kUnavailable for one that cannot be read; the message names the path.
ImportSource CheckImportPath(const std::filesystem::path& path);

// Imports one directory or manifest into `store` (see the contract above).
// Throws as CheckImportPath does, and as the store does.
ImportReport ImportPath(Store& store, const std::filesystem::path& path);

// Whether `path` names an image file by its extension (.jpg .jpeg .png
// .webp .gif .tif .tiff .bmp .avif .heic .heif, case-insensitive).
bool HasImageExtension(const std::filesystem::path& path);

}  // namespace imgbackfill
