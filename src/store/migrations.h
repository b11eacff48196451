// Numbered schema migrations, compiled into the binary from sql/<backend>/
// by cmake/EmbedMigrations.cmake.
#pragma once

#include <vector>

namespace imgbackfill {

struct Migration {
  int version;
  const char* name;  // file name without .sql, e.g. "001_initial"
  const char* sql;
};

// In ascending version order.
const std::vector<Migration>& EmbeddedMigrations_sqlite();
const std::vector<Migration>& EmbeddedMigrations_postgres();

inline int LatestVersion(const std::vector<Migration>& migrations) {
  return migrations.empty() ? 0 : migrations.back().version;
}

}  // namespace imgbackfill
