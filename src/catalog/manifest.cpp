#include "catalog/manifest.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "catalog/csv_reader.h"
#include "catalog/text.h"
#include "imgbackfill/error.h"

namespace imgbackfill {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kKnownFields = "id, location, product_id, is_primary, active";

std::optional<ManifestField> FindField(const std::string& name) {
  if (name == "id") return ManifestField::kId;
  if (name == "location") return ManifestField::kLocation;
  if (name == "product_id") return ManifestField::kProductId;
  if (name == "is_primary") return ManifestField::kIsPrimary;
  if (name == "active") return ManifestField::kActive;
  return std::nullopt;
}

const char* FlagName(ManifestField field) {
  return field == ManifestField::kIsPrimary ? "is_primary" : "active";
}

bool& FlagOf(ImageUpsert& row, ManifestField field) {
  return field == ManifestField::kIsPrimary ? row.is_primary : row.active;
}

// ---- CSV values ------------------------------------------------------------

std::string ParseIdText(const std::string& text, std::optional<int64_t>& id) {
  if (text.empty()) return {};
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1) {
    return "id must be a positive whole number or empty, got '" + Abbreviate(text) + "'";
  }
  id = value;
  return {};
}

std::string ParseFlagText(ManifestField field, const std::string& text, bool& flag) {
  if (text.empty()) return {};  // the default stands
  const std::string word = Lower(text);
  if (word == "1" || word == "true" || word == "yes" || word == "t") {
    flag = true;
  } else if (word == "0" || word == "false" || word == "no" || word == "f") {
    flag = false;
  } else {
    return std::string(FlagName(field)) + " must be 1/0, true/false, yes/no, t/f or empty, got '" +
           Abbreviate(text) + "'";
  }
  return {};
}

// ---- JSON values -----------------------------------------------------------

std::string JsonProblem(const std::string& key, const char* expected, const json& value) {
  return key + " must be " + expected + ", got " + Abbreviate(value.dump());
}

std::string JsonToRow(const json& object, ImageUpsert& row) {
  if (!object.is_object()) {
    return std::string("expected a JSON object such as {\"location\": \"img/1.jpg\"}, got ") +
           object.type_name();
  }
  for (const auto& [key, value] : object.items()) {
    const std::optional<ManifestField> field = FindField(key);
    if (!field) return "unknown key '" + Abbreviate(key) + "'; the known keys are " + kKnownFields;
    if (value.is_null() && *field != ManifestField::kLocation) continue;  // the default stands
    switch (*field) {
      case ManifestField::kId:
        if (value.is_number_unsigned() &&
            value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return JsonProblem(key, "a positive whole number that fits in 64 bits", value);
        }
        if (!value.is_number_integer() || value.get<int64_t>() < 1) {
          return JsonProblem(key, "a positive whole number or null", value);
        }
        row.id = value.get<int64_t>();
        break;
      case ManifestField::kLocation:
        if (!value.is_string()) return JsonProblem(key, "a string", value);
        row.location = value.get<std::string>();
        break;
      case ManifestField::kProductId:
        if (value.is_string()) {
          if (!value.get<std::string>().empty()) row.product_id = value.get<std::string>();
        } else if (value.is_number_integer()) {
          row.product_id = value.dump();
        } else {
          return JsonProblem(key, "a string, a whole number or null", value);
        }
        break;
      case ManifestField::kIsPrimary:
      case ManifestField::kActive:
        if (value.is_boolean()) {
          FlagOf(row, *field) = value.get<bool>();
        } else if (value.is_number_integer() && (value == 0 || value == 1)) {
          FlagOf(row, *field) = value == 1;
        } else {
          return JsonProblem(key, "true, false, 0, 1 or null", value);
        }
        break;
    }
  }
  return {};
}

// nlohmann's messages carry an exception id and "line 1" of the one-line
// document; what helps is the column and the reason.
std::string DescribeJsonError(const json::parse_error& e) {
  const std::string what = e.what();
  const size_t column = what.find("column ");
  const size_t reason = column == std::string::npos ? column : what.find(": ", column);
  if (reason == std::string::npos) return "malformed JSON: " + what;
  return "malformed JSON at " + what.substr(column, reason - column) + ": " +
         Abbreviate(what.substr(reason + 2), 160);
}

bool IsScheme(const std::string& text) {
  if (text.empty() || !std::isalpha(static_cast<unsigned char>(text[0]))) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// A local path becomes absolute (against the manifest's directory) so that
// the worker finds the file whatever directory it runs in.
std::string ResolveLocation(const std::string& text, const fs::path& base, std::string& out) {
  const size_t sep = text.find("://");
  if (sep != std::string::npos && IsScheme(text.substr(0, sep))) {
    const std::string scheme = Lower(text.substr(0, sep));
    if (scheme == "http" || scheme == "https") {
      if (sep + 3 == text.size()) return "location '" + text + "' has no host";
      out = text;
      return {};
    }
    if (scheme == "file") {
      return "location '" + Abbreviate(text) +
             "': file:// URLs are not supported; give the local path itself";
    }
    return "location '" + Abbreviate(text) + "': unsupported scheme " + scheme +
           "://; a location is a local path or an http(s) URL";
  }
  const fs::path path(text);
  out = (path.is_absolute() ? path : base / path).lexically_normal().string();
  return {};
}

}  // namespace

ManifestReader::ManifestReader(const fs::path& path, ImportSource format, std::string display)
    : in_(path, std::ios::binary), format_(format), display_(std::move(display)) {
  if (!in_) {
    throw Error(ErrorKind::kUnavailable, "cannot read " + display_ + ": " + std::strerror(errno) +
                                             "; check that it exists and is readable");
  }
  base_dir_ = fs::absolute(path).lexically_normal().parent_path();
  if (format_ == ImportSource::kCsv) {
    csv_ = std::make_unique<CsvReader>(in_, display_);
    ReadCsvHeader();
  }
}

ManifestReader::~ManifestReader() = default;

void ManifestReader::ReadCsvHeader() {
  CsvRecord header;
  if (!csv_->Next(header)) {
    refusal_ = ImportProblem{display_, 0,
                             "the file is empty: a CSV manifest starts with a header row naming "
                             "its columns, such as id,location,product_id,is_primary,active"};
    return;
  }
  const auto refuse = [&](const std::string& why) {
    refusal_ = ImportProblem{display_, header.line, why + "; nothing was imported from this file"};
  };
  if (!header.error.empty()) return refuse("malformed header row: " + header.error);
  for (size_t k = 0; k < header.fields.size(); ++k) {
    const std::string name = Lower(header.fields[k]);
    const std::optional<ManifestField> field = FindField(name);
    if (name.empty())
      return refuse("column " + std::to_string(k + 1) + " of the header has no name");
    if (!field) {
      return refuse("unknown column '" + Abbreviate(header.fields[k]) +
                    "' in the header row; the known columns are " + kKnownFields);
    }
    for (ManifestField seen : columns_) {
      if (seen == *field) return refuse("column '" + name + "' appears twice in the header row");
    }
    columns_.push_back(*field);
  }
  for (ManifestField seen : columns_) {
    if (seen == ManifestField::kLocation) return;
  }
  refuse("the header row has no 'location' column, which is required; the known columns are " +
         std::string(kKnownFields));
}

bool ManifestReader::Next(ManifestEntry& entry) {
  if (refusal_) return false;
  return format_ == ImportSource::kCsv ? NextCsv(entry) : NextJson(entry);
}

bool ManifestReader::NextCsv(ManifestEntry& entry) {
  CsvRecord record;
  if (!csv_->Next(record)) return false;
  entry = ManifestEntry{record.line, std::nullopt, record.error};
  if (!entry.problem.empty()) return true;
  if (record.fields.size() != columns_.size()) {
    entry.problem = "expected " + std::to_string(columns_.size()) +
                    " fields as the header names, found " + std::to_string(record.fields.size());
    return true;
  }
  ImageUpsert row;
  for (size_t k = 0; k < columns_.size() && entry.problem.empty(); ++k) {
    std::string& value = record.fields[k];
    switch (columns_[k]) {
      case ManifestField::kId:
        entry.problem = ParseIdText(value, row.id);
        break;
      case ManifestField::kLocation:
        row.location = std::move(value);
        break;
      case ManifestField::kProductId:
        if (!value.empty()) row.product_id = std::move(value);
        break;
      case ManifestField::kIsPrimary:
      case ManifestField::kActive:
        entry.problem = ParseFlagText(columns_[k], value, FlagOf(row, columns_[k]));
        break;
    }
  }
  if (entry.problem.empty()) entry.problem = Finish(entry.line, row);
  if (entry.problem.empty()) entry.row = std::move(row);
  return true;
}

bool ManifestReader::NextJson(ManifestEntry& entry) {
  std::string text;
  do {
    if (!std::getline(in_, text)) {
      if (in_.bad()) {
        throw Error(ErrorKind::kUnavailable,
                    "reading " + display_ + " failed after line " + std::to_string(line_) + ": " +
                        std::strerror(errno) +
                        "; the rows before it were imported, and "
                        "importing the file again once it is readable is safe");
      }
      return false;
    }
    if (++line_ == 1 && text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  } while (text.find_first_not_of(" \t\r") == std::string::npos);

  entry = ManifestEntry{line_, std::nullopt, {}};
  json object;
  try {
    object = json::parse(text);
  } catch (const json::parse_error& e) {
    entry.problem = DescribeJsonError(e);
    return true;
  }
  ImageUpsert row;
  entry.problem = JsonToRow(object, row);
  if (entry.problem.empty()) entry.problem = Finish(entry.line, row);
  if (entry.problem.empty()) entry.row = std::move(row);
  return true;
}

std::string ManifestReader::Finish(int64_t line, ImageUpsert& row) {
  if (row.location.empty()) return "no location: every row needs one";
  const std::string given = row.location;
  if (std::string problem = ResolveLocation(given, base_dir_, row.location); !problem.empty()) {
    return problem;
  }
  if (row.is_primary && !row.product_id) {
    return "is_primary is set but product_id is empty: a primary image must belong to a product";
  }
  // Checked last, so that a rejected row never claims a key. The first row
  // wins: a later one is more likely the copy-paste slip, and refusing it
  // keeps a re-import idempotent (two rows fighting over one image would
  // rewrite it, and maybe clear its analysis, on every run).
  if (row.id) {
    const auto [it, fresh] = id_lines_.emplace(*row.id, line);
    if (!fresh) {
      return "duplicate id " + std::to_string(*row.id) + ": line " + std::to_string(it->second) +
             " already gives it, and the first row wins";
    }
  } else {
    const auto [it, fresh] = location_lines_.emplace(row.location, line);
    if (!fresh) {
      return "duplicate location " + Abbreviate(given) + " without an id: line " +
             std::to_string(it->second) + " already gives it, and the first row wins";
    }
  }
  return {};
}

}  // namespace imgbackfill
