// The thinnest possible hold on the sqlite3 C API, for the baseline loop and
// the query plans: no wrapper of the store's is in the measured path.
#pragma once

#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace imgbackfill::bench {

class RawStatement {
 public:
  RawStatement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) Fail("prepare");
  }
  ~RawStatement() { sqlite3_finalize(st_); }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;

  sqlite3_stmt* get() { return st_; }
  // Steps once; true while a row is available.
  bool Step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) Fail("step");
    return false;
  }
  // Runs to completion and resets; returns the rows changed.
  int Exec() {
    while (Step()) {
    }
    sqlite3_reset(st_);
    return sqlite3_changes(db_);
  }
  void Reset() { sqlite3_reset(st_); }

 private:
  [[noreturn]] void Fail(const char* what) {
    throw std::runtime_error(std::string(what) + " failed: " + sqlite3_errmsg(db_) + " in " +
                             (st_ != nullptr ? sqlite3_sql(st_) : "?"));
  }
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

class RawDatabase {
 public:
  RawDatabase(const std::string& path, int flags) {
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path + ": " + message);
    }
  }
  ~RawDatabase() { sqlite3_close(db_); }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;

  sqlite3* get() { return db_; }
  void Exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
      sqlite3_free(error);
      throw std::runtime_error(std::string("exec failed: ") + message + " in " + sql);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace imgbackfill::bench
