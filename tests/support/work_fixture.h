// A catalog of real image files with one queued analysis job per image, for
// driving `imgbackfill work` as a process; and readers of what it wrote.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace imgbackfill::testing {

struct WorkCatalog {
  TempDir dir;
  std::string db = (dir.path() / "catalog.db").string();

  // `count` JPEGs (seeded, 48x32 to 79x63 pixels) under dir/images, each
  // registered with one available job. Returns their image ids, 1..count.
  explicit WorkCatalog(int count, uint32_t seed = 7);

  // Registers one more image at `location` with a queued job; returns its id.
  int64_t AddImage(const std::string& location);

  // `imgbackfill work --db DB --until-empty` plus `extra`, to completion.
  ProcessResult Work(const std::vector<std::string>& extra,
                     const std::map<std::string, std::string>& env = {}) const;
  std::vector<std::string> WorkArgv(const std::vector<std::string>& extra) const;

  int64_t JobsIn(const std::string& state) const;
  std::string JobState(int64_t image_id) const;
  std::string JobError(int64_t image_id) const;
  int64_t JobAttempt(int64_t image_id) const;
  int next_id = 1;
};

// Environment with both fake providers' keys set.
std::map<std::string, std::string> FakeKeys();

}  // namespace imgbackfill::testing
