// Manifests: CSV or JSON-lines files that list images to register, read one
// record at a time into ImageUpsert rows or the reason a row is rejected.
// docs/import.md is the user's description of both formats.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "imgbackfill/import.h"
#include "imgbackfill/types.h"

namespace imgbackfill {

class CsvReader;

struct ManifestEntry {
  int64_t line = 0;                // where the record starts
  std::optional<ImageUpsert> row;  // set when the record is good
  std::string problem;             // why it was rejected, otherwise
};

// The manifest columns (CSV) or keys (JSON lines).
enum class ManifestField { kId, kLocation, kProductId, kIsPrimary, kActive };

class ManifestReader {
 public:
  // Opens `path`, read as `format` (kCsv or kJsonLines). `display` names the
  // file in messages. Throws kUnavailable if it cannot be opened.
  ManifestReader(const std::filesystem::path& path, ImportSource format, std::string display);
  ~ManifestReader();
  ManifestReader(const ManifestReader&) = delete;
  ManifestReader& operator=(const ManifestReader&) = delete;

  // Set when the whole file is refused (empty, or a bad CSV header); Next
  // then yields nothing.
  const std::optional<ImportProblem>& refusal() const { return refusal_; }

  // The next record; false at the end of the file. Rows come with locations
  // resolved and are checked against the rows before them (duplicate keys).
  // Throws kUnavailable on a read error.
  bool Next(ManifestEntry& entry);

 private:
  void ReadCsvHeader();
  bool NextCsv(ManifestEntry& entry);
  bool NextJson(ManifestEntry& entry);
  // Resolves the location and rejects duplicates; returns the problem, if any.
  std::string Finish(int64_t line, ImageUpsert& row);

  std::ifstream in_;
  ImportSource format_;
  std::string display_;
  std::filesystem::path base_dir_;  // relative locations resolve against it
  std::unique_ptr<CsvReader> csv_;
  std::vector<ManifestField> columns_;
  int64_t line_ = 0;  // JSON lines: the last line read
  std::optional<ImportProblem> refusal_;
  // The first line of each key, to reject a later duplicate.
  std::unordered_map<int64_t, int64_t> id_lines_;
  std::unordered_map<std::string, int64_t> location_lines_;
};

}  // namespace imgbackfill
