// Translation of SQLite failures into imgbackfill::Error, at the boundary.
#pragma once

#include <SQLiteCpp/Exception.h>

#include <string>

#include "imgbackfill/error.h"

namespace imgbackfill {

// `operation` says what was being done ("enqueue image 42"), `where` names
// the database. The message keeps SQLite's own text and code and adds what
// the user can do about it.
Error TranslateSqliteError(const SQLite::Exception& e, const std::string& operation,
                           const std::string& where);

// Runs `body`, translating any SQLite::Exception it throws.
template <typename Body>
auto WithSqliteErrors(const std::string& where, const char* operation, Body&& body) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    throw TranslateSqliteError(e, operation, where);
  }
}

}  // namespace imgbackfill
