// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes away. Tests never write to the working directory.
#pragma once

#include <filesystem>
#include <string>

namespace imgbackfill::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace imgbackfill::testing
