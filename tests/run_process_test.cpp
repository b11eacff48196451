// The backfill run as a process: signals, --max-runtime, --restart and two
// runs at once, through the real executable.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "support/catalog.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

using testing::ChildProcess;
using testing::ImgbackfillArgv;
using testing::ProcessResult;
using testing::QueryInt;
using testing::ReadJobs;
using testing::TempDir;

constexpr int kExitTryAgain = 75;

struct Fixture {
  TempDir dir;
  std::string db = dir / "catalog.db";
  std::vector<int64_t> expected;

  Fixture() {
    testing::MakeSqliteCatalog(db, testing::CatalogSpec{.images = 20'000, .seed = 99});
    expected = testing::ExpectedOrder(testing::ReadImages(db), testing::kCurrentModel, false);
  }
  std::vector<std::string> Run(std::vector<std::string> extra = {},
                               const std::string& limit = "1000000") const {
    std::vector<std::string> args = {"run", "--db", db, "--limit", limit};
    args.insert(args.end(), extra.begin(), extra.end());
    return ImgbackfillArgv(args);
  }
  // Starts a run and, once it is walking, sends it `signal`. SIGSTOP first
  // holds it mid-walk, so the signal cannot arrive after the walk has ended.
  ProcessResult InterruptMidWalk(int signal) const {
    ChildProcess run(Run(), dir.path());
    REQUIRE(run.WaitForStderr("candidates in scope"));
    run.Signal(SIGSTOP);
    run.Signal(signal);
    run.Signal(SIGCONT);
    return run.Wait();
  }
  std::vector<int64_t> Queued() const {
    std::vector<int64_t> ids;
    for (const auto& job : ReadJobs(db)) ids.push_back(job.image_id);
    return ids;
  }
};

TEST_CASE("SIGTERM interrupts a run with exit 75 and the next invocation resumes it") {
  // Given a run walking 14,000 candidates, SIGTERM ends it at the next record
  // boundary: exit 75, run interrupted, where it resumes logged. The next
  // invocation says it resumes run 1 and finishes the walk exactly once.
  Fixture f;
  const auto interrupted = f.InterruptMidWalk(SIGTERM);

  CHECK(interrupted.exit_code == kExitTryAgain);
  CHECK_THAT(interrupted.err, Catch::Contains("run 1 interrupted"));
  CHECK_THAT(interrupted.err, Catch::Contains("the next invocation resumes it from"));
  CHECK(QueryInt(f.db, "SELECT state = 'interrupted' FROM backfill_runs WHERE id = 1") == 1);
  CHECK(f.Queued().size() < f.expected.size());

  ChildProcess second(f.Run(), f.dir.path());
  const auto resumed = second.Wait();
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Catch::Contains("resuming run 1 (interrupted)"));
  CHECK(f.Queued() == f.expected);
  CHECK(QueryInt(f.db, "SELECT count(*) FROM backfill_runs") == 1);
  CHECK(QueryInt(f.db, "SELECT state = 'completed' FROM backfill_runs") == 1);
}

TEST_CASE("SIGINT interrupts a run like SIGTERM") {
  Fixture f;
  const auto result = f.InterruptMidWalk(SIGINT);
  CHECK(result.exit_code == kExitTryAgain);
  CHECK(QueryInt(f.db, "SELECT state = 'interrupted' FROM backfill_runs WHERE id = 1") == 1);
}

TEST_CASE("max-runtime ends a run as interrupted with exit 75") {
  // 1 ms is over before the first record: start-up alone takes longer.
  Fixture f;
  ChildProcess run(f.Run({"--max-runtime", "1ms"}), f.dir.path());
  const auto result = run.Wait();
  CHECK(result.exit_code == kExitTryAgain);
  CHECK_THAT(result.err, Catch::Contains("interrupted"));
  CHECK(QueryInt(f.db, "SELECT state = 'interrupted' FROM backfill_runs WHERE id = 1") == 1);
  CHECK(f.Queued().size() < f.expected.size());
}

TEST_CASE("restart abandons an interrupted run and starts afresh without requeueing") {
  // Given run 1 interrupted part-way, --restart marks it failed, starts run 2
  // from the beginning, and queues only the images run 1 did not.
  Fixture f;
  REQUIRE(f.InterruptMidWalk(SIGTERM).exit_code == kExitTryAgain);
  const auto before = static_cast<int64_t>(f.Queued().size());

  ChildProcess again(f.Run({"--restart"}), f.dir.path());
  const auto result = again.Wait();
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err, Catch::Contains("--restart: abandoned run 1"));
  CHECK(result.err.find("resuming") == std::string::npos);
  CHECK(QueryInt(f.db, "SELECT state = 'failed' FROM backfill_runs WHERE id = 1") == 1);
  CHECK(QueryInt(f.db, "SELECT state = 'completed' FROM backfill_runs WHERE id = 2") == 1);
  CHECK(QueryInt(f.db, "SELECT queued FROM backfill_runs WHERE id = 2") ==
        static_cast<int64_t>(f.expected.size()) - before);
  auto queued = f.Queued();
  std::sort(queued.begin(), queued.end());
  auto expected = f.expected;
  std::sort(expected.begin(), expected.end());
  CHECK(queued == expected);
}

TEST_CASE("a second run exits 75 naming the holder while the first is alive") {
  // The first run is stopped (SIGSTOP) mid-walk: it holds the lock but makes
  // no progress, so the second one meets it for certain.
  Fixture f;
  ChildProcess first(f.Run(), f.dir.path());
  REQUIRE(first.WaitForStderr("candidates in scope"));
  first.Signal(SIGSTOP);

  ChildProcess second(f.Run(), f.dir.path());
  const auto refused = second.Wait();
  first.Signal(SIGCONT);
  const auto finished = first.Wait();

  CHECK(refused.exit_code == kExitTryAgain);
  CHECK_THAT(refused.err, Catch::Contains("another backfill run is in progress"));
  CHECK_THAT(refused.err, Catch::Contains("pid " + std::to_string(first.pid())));
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  CHECK_THAT(refused.err, Catch::Contains(std::string("on host ") + host));
  CHECK(finished.exit_code == 0);
  CHECK(f.Queued() == f.expected);
  CHECK(QueryInt(f.db, "SELECT count(*) FROM backfill_runs") == 1);
}

TEST_CASE("a holder that was SIGKILLed does not block the next run, which resumes") {
  Fixture f;
  ChildProcess first(f.Run(), f.dir.path());
  REQUIRE(first.WaitForStderr("candidates in scope"));
  first.Signal(SIGKILL);
  REQUIRE(first.Wait().term_signal == SIGKILL);

  ChildProcess second(f.Run(), f.dir.path());
  const auto result = second.Wait();
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err,
             Catch::Contains("resuming run 1 (its process, pid " + std::to_string(first.pid())));
  CHECK_THAT(result.err, Catch::Contains("died"));
  CHECK(f.Queued() == f.expected);
}

TEST_CASE("a run with nothing to do says so, records a completed run and exits 0") {
  Fixture f;
  testing::Exec(f.db, "UPDATE images SET embedding_model = 'local-descriptor-v1'");
  ChildProcess run(f.Run(), f.dir.path());
  const auto result = run.Wait();
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err, Catch::Contains("nothing to do: all active images in scope already "
                                         "have an embedding from model local-descriptor-v1"));
  CHECK(QueryInt(f.db, "SELECT state = 'completed' AND queued = 0 FROM backfill_runs") == 1);
}

TEST_CASE("a dry run prints the counts per group and the first ids, and writes nothing") {
  Fixture f;
  ChildProcess run(ImgbackfillArgv({"run", "--db", f.db, "--dry-run"}), f.dir.path());
  const auto result = run.Wait();
  CHECK(result.exit_code == 0);
  const auto images = testing::ReadImages(f.db);
  const auto group0 = testing::ExpectedOrder(images, testing::kCurrentModel, true);
  CHECK_THAT(result.out, Catch::Contains("candidates in group 0 (product primary images): " +
                                         std::to_string(group0.size())));
  CHECK_THAT(result.out, Catch::Contains("candidates in group 1 (other images): " +
                                         std::to_string(f.expected.size() - group0.size())));
  CHECK_THAT(result.out, Catch::Contains("(group:id): 0:" + std::to_string(f.expected[0]) +
                                         " 0:" + std::to_string(f.expected[1]) + " "));
  CHECK_THAT(result.out, Catch::Contains("nothing was written"));
  CHECK(QueryInt(f.db, "SELECT count(*) FROM jobs") == 0);
  CHECK(QueryInt(f.db, "SELECT count(*) FROM backfill_runs") == 0);
}

TEST_CASE("off a terminal a run logs a progress line every 500 queued") {
  Fixture f;
  ChildProcess run(f.Run({}, "1200"), f.dir.path());
  const auto result = run.Wait();
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err, Catch::Contains("queued 500 of up to 1200 this run"));
  CHECK_THAT(result.err, Catch::Contains("queued 1000 of up to 1200 this run"));
  CHECK(result.err.find("queued 1500") == std::string::npos);
  CHECK_THAT(result.err, Catch::Contains("run 1 completed: queued 1200 (1200 in all, limit "
                                         "reached)"));
}

TEST_CASE("on a terminal a run draws a progress bar instead of progress lines") {
  // script(1) gives the run a pseudo-terminal for stdout and stderr.
  Fixture f;
  std::string command;
  for (const auto& arg : f.Run({}, "1200")) command += "'" + arg + "' ";
  ChildProcess run({"/usr/bin/script", "-qefc", command, "/dev/null"}, f.dir.path());
  const auto result = run.Wait();
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("] 1200/1200 100%"));
  CHECK_THAT(result.out, Catch::Contains("[########################################]"));
  CHECK(result.out.find("queued 500 of up to") == std::string::npos);
}

}  // namespace
}  // namespace imgbackfill
