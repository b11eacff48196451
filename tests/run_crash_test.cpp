// Exactly once under crashes: a real `imgbackfill run` process is SIGKILLed
// at random moments, resumed each time, and the jobs table must hold every
// candidate exactly once, in order, none skipped.
#include <signal.h>

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "support/catalog.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

using testing::ChildProcess;
using testing::ImgbackfillArgv;
using testing::QueryInt;
using testing::ReadJobs;
using testing::TempDir;

// After any crash the jobs, in job-id order, must be exactly the first k
// candidates where the k-th is the run's cursor, and the run's count k.
void CheckCrashInvariant(const std::string& db, const std::vector<int64_t>& expected) {
  const auto jobs = ReadJobs(db);
  REQUIRE(jobs.size() <= expected.size());
  for (size_t i = 0; i < jobs.size(); ++i) REQUIRE(jobs[i].image_id == expected[i]);
  if (QueryInt(db, "SELECT count(*) FROM backfill_runs") == 0) {
    REQUIRE(jobs.empty());
    return;
  }
  REQUIRE(QueryInt(db, "SELECT count(*) FROM backfill_runs") == 1);
  REQUIRE(QueryInt(db, "SELECT queued FROM backfill_runs") == static_cast<int64_t>(jobs.size()));
  const int64_t cursor = QueryInt(db, "SELECT cursor_id FROM backfill_runs");
  if (jobs.empty()) {
    REQUIRE(cursor == 0);
  } else {
    REQUIRE(cursor == jobs.back().image_id);
  }
}

TEST_CASE("every candidate is enqueued exactly once, in order, across 60 SIGKILLs and resumes") {
  // Given a catalog of 24,000 images (about 17,000 candidates) and a run with
  // no effective limit, SIGKILL the run 60 times at random moments (fixed
  // seed; half of them during start-up, half mid-walk), checking the crash
  // invariant after each; then let it finish.
  TempDir dir;
  const std::string db = dir / "catalog.db";
  testing::MakeSqliteCatalog(db, testing::CatalogSpec{.images = 24'000, .seed = 2026});
  const auto expected =
      testing::ExpectedOrder(testing::ReadImages(db), testing::kCurrentModel, false);
  REQUIRE(expected.size() > 15'000);
  const std::vector<std::string> args = {"run", "--db", db, "--limit", "1000000"};

  std::mt19937 rng(20261123);
  std::uniform_int_distribution<int> startup_delay_us(0, 30'000);
  std::uniform_int_distribution<int> walk_delay_us(0, 40'000);
  int kills = 0;
  int resumes_announced = 0;
  for (int round = 0; round < 60; ++round) {
    ChildProcess run(ImgbackfillArgv(args), dir.path());
    if (round % 2 == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(startup_delay_us(rng)));
    } else if (run.WaitForStderr("candidates in scope")) {
      std::this_thread::sleep_for(std::chrono::microseconds(walk_delay_us(rng)));
    }
    run.Signal(SIGKILL);
    const auto result = run.Wait();
    if (result.term_signal == SIGKILL) ++kills;
    if (result.err.find("resuming run 1 (its process") != std::string::npos) ++resumes_announced;
    INFO("round " << round << " stderr: " << result.err);
    CheckCrashInvariant(db, expected);
  }
  // Every kill must have landed before the run could finish.
  REQUIRE(kills == 60);
  CHECK(resumes_announced > 20);
  CHECK(ReadJobs(db).size() < expected.size());

  ChildProcess last(ImgbackfillArgv(args), dir.path());
  const auto result = last.Wait();
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.err, Catch::Contains("resuming run 1"));

  const auto jobs = ReadJobs(db);
  std::vector<int64_t> queued;
  for (const auto& job : jobs) queued.push_back(job.image_id);
  CHECK(queued == expected);
  CHECK(QueryInt(db, "SELECT count(*) FROM backfill_runs") == 1);
  CHECK(QueryInt(db, "SELECT state = 'completed' FROM backfill_runs") == 1);
  CHECK(QueryInt(db, "SELECT queued FROM backfill_runs") ==
        QueryInt(db, "SELECT count(*) FROM jobs"));
  CHECK(QueryInt(db,
                 "SELECT count(*) FROM (SELECT image_id FROM jobs GROUP BY image_id"
                 " HAVING count(*) > 1)") == 0);
}

}  // namespace
}  // namespace imgbackfill
