// Records of an RFC 4180 CSV stream, one at a time, with the line each one
// starts on (a quoted field may span lines).
//
// Beyond the RFC, as spreadsheets and hand-edited files need: a UTF-8 byte
// order mark is skipped, CRLF and LF both end a line, blank lines are not
// records, and spaces or tabs around a field are dropped unless they are
// inside quotes.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace imgbackfill {

struct CsvRecord {
  int64_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
  std::string error;  // set when the record is malformed; `fields` is then partial
};

class CsvReader {
 public:
  // `name` names the stream in messages about read failures.
  CsvReader(std::istream& in, std::string name);

  // The next record; false at the end of the stream. Throws kUnavailable if
  // the stream fails (an I/O error, not a malformed record).
  bool Next(CsvRecord& record);

 private:
  bool ReadLine(std::string& text);

  std::istream& in_;
  std::string name_;
  int64_t line_ = 0;
};

}  // namespace imgbackfill
