// Helpers for tests that drive the executable with wrong input: file bytes,
// directory listings, seeded catalogs, and running as an unprivileged user.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/catalog.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace imgbackfill::testing {

namespace fs = std::filesystem;

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::set<std::string> FileNames(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

// A small seeded catalog, migrated, as a user would have after import.
inline std::string SeededCatalog(const TempDir& tmp, int64_t images = 60) {
  const std::string db = tmp / "catalog.db";
  MakeSqliteCatalog(db, CatalogSpec{.images = images, .seed = 7});
  return db;
}

inline int64_t Jobs(const std::string& db) { return QueryInt(db, "SELECT count(*) FROM jobs"); }
inline int64_t Runs(const std::string& db) {
  return QueryInt(db, "SELECT count(*) FROM backfill_runs");
}

// Root ignores permission bits, so a test about an unreadable or read-only
// file would prove nothing as root. Under root the binary runs as `nobody`
// (setpriv, util-linux), for whom the bits hold; otherwise as the caller.
inline ProcessResult RunImgbackfillUnprivileged(const std::vector<std::string>& args) {
  if (::geteuid() != 0) return RunImgbackfill(args);
  REQUIRE(fs::exists("/usr/bin/setpriv"));
  std::vector<std::string> argv{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                "--clear-groups"};
  for (const auto& arg : ImgbackfillArgv(args)) argv.push_back(arg);
  return RunProcess(argv);
}

inline void Chmod(const std::string& path, fs::perms perms) {
  fs::permissions(path, perms, fs::perm_options::replace);
}

}  // namespace imgbackfill::testing
