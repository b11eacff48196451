#include "imgbackfill/import.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "catalog/manifest.h"
#include "catalog/text.h"
#include "imgbackfill/error.h"

namespace imgbackfill {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 11> kImageExtensions = {
    ".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".avif", ".heic", ".heif"};

void AddProblem(ImportReport& report, ImportProblem problem) {
  if (report.problems.size() < kImportProblemsKept) report.problems.push_back(std::move(problem));
}

// Collects rows and hands them to the store a batch at a time: one
// transaction per row would make a large import crawl, and one for the whole
// file would hold the write lock against a running backfill for minutes.
class Batcher {
 public:
  Batcher(Store& store, ImportReport& report) : store_(store), report_(report) {
    rows_.reserve(kImportBatchSize);
  }

  void Add(ImageUpsert row) {
    rows_.push_back(std::move(row));
    if (rows_.size() >= kImportBatchSize) Flush();
  }

  void Flush() {
    if (rows_.empty()) return;
    for (const UpsertResult& result : store_.UpsertImages(rows_)) {
      switch (result.outcome) {
        case UpsertOutcome::kInserted:
          ++report_.inserted;
          break;
        case UpsertOutcome::kUpdated:
          ++report_.updated;
          break;
        case UpsertOutcome::kUnchanged:
          ++report_.unchanged;
          break;
      }
    }
    rows_.clear();
  }

 private:
  Store& store_;
  ImportReport& report_;
  std::vector<ImageUpsert> rows_;
};

bool IsHidden(const fs::path& path) { return path.filename().string().starts_with('.'); }

// Walks one directory level at a time, each sorted by name, which visits the
// tree in the same order as sorting every path would, while holding only the
// current directories' listings rather than the whole tree.
void WalkDirectory(const fs::path& dir, Batcher& batcher, ImportReport& report) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!IsHidden(it->path())) entries.push_back(*it);
  }
  if (ec) {
    AddProblem(report, {dir.string(), 0,
                        "cannot read directory: " + ec.message() +
                            "; images in it were not imported (check its permissions)"});
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  for (const fs::directory_entry& entry : entries) {
    // Symbolic links to directories are not followed: they can form cycles
    // and would register one file under several locations.
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) {
      WalkDirectory(entry.path(), batcher, report);
    } else if (entry.is_regular_file(ec) && HasImageExtension(entry.path())) {
      ImageUpsert row;
      row.location = entry.path().string();
      row.keep_existing = true;
      batcher.Add(std::move(row));
    }
  }
}

void ImportManifest(const fs::path& path, ImportSource format, Batcher& batcher,
                    ImportReport& report) {
  ManifestReader reader(path, format, path.string());
  if (reader.refusal()) {
    report.refused = true;
    AddProblem(report, *reader.refusal());
    return;
  }
  ManifestEntry entry;
  while (reader.Next(entry)) {
    if (entry.row) {
      batcher.Add(std::move(*entry.row));
    } else {
      ++report.rejected;
      AddProblem(report, {path.string(), entry.line, std::move(entry.problem)});
    }
  }
}

}  // namespace

bool HasImageExtension(const fs::path& path) {
  const std::string ext = Lower(path.extension().string());
  return std::find(kImageExtensions.begin(), kImageExtensions.end(), ext) != kImageExtensions.end();
}

ImportSource CheckImportPath(const fs::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    throw Error(ErrorKind::kUsage, "cannot import " + name + ": no such file or directory");
  }
  if (ec) {
    throw Error(ErrorKind::kUnavailable,
                "cannot import " + name + ": " + ec.message() + " (check its permissions)");
  }
  if (fs::is_directory(status)) {
    fs::directory_iterator probe(path, ec);
    if (ec) {
      throw Error(ErrorKind::kUnavailable, "cannot read directory " + name + ": " + ec.message() +
                                               " (check its permissions)");
    }
    return ImportSource::kDirectory;
  }
  const std::string ext = Lower(path.extension().string());
  ImportSource source = ImportSource::kCsv;
  if (ext == ".jsonl" || ext == ".ndjson") {
    source = ImportSource::kJsonLines;
  } else if (ext != ".csv") {
    std::string hint =
        "give a directory of images, or a manifest ending in .csv, .jsonl or .ndjson";
    if (HasImageExtension(path))
      hint = "to register single images, import the directory they are in";
    throw Error(ErrorKind::kUsage,
                "cannot import " + name + ": not a directory or a manifest; " + hint);
  }
  if (!std::ifstream(path, std::ios::binary)) {
    throw Error(ErrorKind::kUnavailable,
                "cannot read " + name + ": " + std::strerror(errno) + " (check its permissions)");
  }
  return source;
}

ImportReport ImportPath(Store& store, const fs::path& path) {
  const ImportSource source = CheckImportPath(path);
  ImportReport report;
  Batcher batcher(store, report);
  if (source == ImportSource::kDirectory) {
    WalkDirectory(fs::absolute(path).lexically_normal(), batcher, report);
  } else {
    ImportManifest(path, source, batcher, report);
  }
  batcher.Flush();
  return report;
}

}  // namespace imgbackfill
