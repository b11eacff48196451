// BEGIN IMMEDIATE ... COMMIT, rolled back if the scope is left by an
// exception. IMMEDIATE takes the write lock up front so that a busy database
// fails at the start (after the busy timeout) rather than mid-transaction.
#pragma once

#include <SQLiteCpp/Database.h>

namespace imgbackfill {

class WriteTransaction {
 public:
  explicit WriteTransaction(SQLite::Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
  ~WriteTransaction() {
    if (!done_) db_.tryExec("ROLLBACK");
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void Commit() {
    db_.exec("COMMIT");
    done_ = true;
  }

 private:
  SQLite::Database& db_;
  bool done_ = false;
};

}  // namespace imgbackfill
