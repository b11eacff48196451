#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "imgbackfill/error.h"
#include "imgbackfill/import.h"

namespace imgbackfill::cli {
namespace {

std::string Plural(int64_t count, const char* one, const char* many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

void ReportProblems(const std::string& name, const ImportReport& report) {
  int64_t shown_rows = 0;
  for (const ImportProblem& problem : report.problems) {
    if (problem.line > 0) {
      spdlog::error("{}:{}: {}", problem.file, problem.line, problem.message);
    } else {
      spdlog::error("{}: {}", problem.file, problem.message);
    }
    if (!report.refused) shown_rows += problem.file == name && problem.line > 0 ? 1 : 0;
  }
  if (report.rejected > shown_rows) {
    spdlog::error("{}: {} more rejected (only the first {} problems are listed)", name,
                  Plural(report.rejected - shown_rows, "row", "rows"), kImportProblemsKept);
  }
}

void PrintSummary(const std::string& name, ImportSource source, const ImportReport& report) {
  if (report.refused) {
    std::printf("refused %s: nothing imported\n", name.c_str());
    return;
  }
  std::string line = "imported " + name + ": " + std::to_string(report.inserted) + " new, " +
                     std::to_string(report.updated) + " updated, " +
                     std::to_string(report.unchanged) + " unchanged";
  if (report.rejected > 0) line += ", " + Plural(report.rejected, "row", "rows") + " rejected";
  const auto unreadable = static_cast<int64_t>(report.problems.size()) - report.rejected;
  if (source == ImportSource::kDirectory && unreadable > 0) {
    line += ", " + Plural(unreadable, "directory", "directories") + " unreadable";
  }
  std::printf("%s\n", line.c_str());
  if (source == ImportSource::kDirectory && report.total() == 0 && unreadable == 0) {
    spdlog::warn(
        "{}: no image files found (looked for .jpg .jpeg .png .webp .gif .tif .tiff "
        ".bmp .avif .heic .heif, skipping hidden files)",
        name);
  }
}

}  // namespace

void AddImportCommand(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto paths = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "import", "Register images from directories or CSV/JSON-lines manifests (idempotent)");
  // Not ->required(): CLI11 would say only "paths is required".
  cmd->add_option("paths", *paths,
                  "Directories to scan for image files, or manifests ending in .csv, .jsonl "
                  "or .ndjson (one or more)")
      ->type_name("FILE|DIR");
  cmd->footer(
      "Manifest columns (CSV header or JSON keys): location (required: a path, relative to the\n"
      "manifest, or an http(s) URL), id, product_id, is_primary, active. Rows with an id are\n"
      "upserted by id, the others by location. Bad rows are listed as FILE:LINE on stderr and\n"
      "the good ones still land; the exit code is then 1. See docs/import.md.");

  cmd->callback([&global, &action, paths] {
    if (paths->empty()) {
      throw CLI::ValidationError(
          "import",
          "give at least one FILE|DIR: a directory of images, or a manifest ending in "
          ".csv, .jsonl or .ndjson");
    }
    action = [&global, paths] {
      // Every path is checked before anything is written, so that a typo in
      // the last argument does not leave the first ones half done.
      std::vector<ImportSource> sources;
      for (const std::string& path : *paths) sources.push_back(CheckImportPath(path));
      auto store = OpenCurrentStore(global);
      bool clean = true;
      for (size_t k = 0; k < paths->size(); ++k) {
        const std::string& name = (*paths)[k];
        const ImportReport report = ImportPath(*store, name);
        ReportProblems(name, report);
        PrintSummary(name, sources[k], report);
        clean = clean && report.clean();
      }
      return clean ? exit_code::kOk : exit_code::kFailed;
    };
  });
}

}  // namespace imgbackfill::cli
