#include "catalog/csv_reader.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "imgbackfill/error.h"

namespace imgbackfill {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

bool IsBlank(const std::string& text) {
  for (char c : text) {
    if (!IsSpace(c)) return false;
  }
  return true;
}

std::string TrimRight(std::string text) {
  while (!text.empty() && IsSpace(text.back())) text.pop_back();
  return text;
}

}  // namespace

CsvReader::CsvReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

bool CsvReader::ReadLine(std::string& text) {
  if (!std::getline(in_, text)) {
    if (in_.bad()) {
      throw Error(ErrorKind::kUnavailable,
                  "reading " + name_ + " failed after line " + std::to_string(line_) + ": " +
                      std::strerror(errno) +
                      "; the rows before it were imported, and "
                      "importing the file again once it is readable is safe");
    }
    return false;
  }
  ++line_;
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (line_ == 1 && text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  return true;
}

bool CsvReader::Next(CsvRecord& record) {
  std::string text;
  do {
    if (!ReadLine(text)) return false;
  } while (IsBlank(text));

  record = CsvRecord{};
  record.line = line_;
  size_t i = 0;
  while (true) {  // one field per pass
    while (i < text.size() && IsSpace(text[i])) ++i;
    std::string field;
    if (i < text.size() && text[i] == '"') {
      const int64_t opened_on = line_;
      ++i;
      while (true) {
        if (i == text.size()) {
          // A quoted field goes on past the end of the line: the line break
          // belongs to the field.
          if (!ReadLine(text)) {
            record.error = "unterminated quoted field (its quote opens on line " +
                           std::to_string(opened_on) + " and never closes)";
            return true;
          }
          field += '\n';
          i = 0;
          continue;
        }
        const char c = text[i++];
        if (c != '"') {
          field += c;
        } else if (i < text.size() && text[i] == '"') {
          field += '"';
          ++i;
        } else {
          break;
        }
      }
      while (i < text.size() && IsSpace(text[i])) ++i;
      if (i < text.size() && text[i] != ',') {
        record.error = "text after the closing quote of field " +
                       std::to_string(record.fields.size() + 1) +
                       "; put the whole field in quotes and double any quote inside it";
        return true;
      }
    } else {
      // A quote inside an unquoted field is kept as a character, as most
      // readers do, rather than refusing the row.
      const size_t end = text.find(',', i);
      field = TrimRight(text.substr(i, end == std::string::npos ? std::string::npos : end - i));
      i = end == std::string::npos ? text.size() : end;
    }
    record.fields.push_back(std::move(field));
    if (i >= text.size()) return true;
    ++i;  // past the comma
  }
}

}  // namespace imgbackfill
