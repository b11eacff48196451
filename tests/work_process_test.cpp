// `imgbackfill work` as a process: SIGTERM, the rate limit at shutdown,
// leases kept alive by the heartbeat, --max-jobs and --max-runtime.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "support/catalog.h"
#include "support/fake_provider_server.h"
#include "support/process.h"
#include "support/work_fixture.h"

namespace imgbackfill {
namespace {

using Catch::Contains;
using testing::ChildProcess;
using testing::FakeKeys;
using testing::FakeProviderServer;
using testing::QueryInt;
using testing::WorkCatalog;

std::vector<std::string> Gemini(const FakeProviderServer& server, std::vector<std::string> extra) {
  std::vector<std::string> flags = {"--model", "gemini-embedding-001", "--gemini-base-url",
                                    server.gemini_base_url()};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

// Polls `ready` (a safety bound, not a timing assertion).
template <typename Ready>
bool WaitUntil(Ready ready) {
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!ready()) {
    if (std::chrono::steady_clock::now() > limit) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_CASE("SIGTERM stops claiming, finishes the jobs in flight and exits 0", "[work][signal]") {
  // Given 200 jobs and a provider answering in 300 ms, the worker holds 30
  // jobs at a time ((concurrency 2 + 1) x batch 10). SIGTERM once the provider has
  // seen a request: exit 0, no job left running, the in-flight ones finished,
  // the rest untouched (attempt 0).
  FakeProviderServer server;
  server.SetDimension(3072);
  server.SetLatency(std::chrono::milliseconds(300));
  WorkCatalog catalog(200);
  ChildProcess worker(catalog.WorkArgv(Gemini(server, {"--concurrency", "2", "--batch-size", "10",
                                                       "--batch-window", "50ms"})),
                      catalog.dir.path(), FakeKeys());
  REQUIRE(WaitUntil([&] { return server.embed_requests() >= 1; }));
  worker.Signal(SIGTERM);
  const auto result = worker.Wait();
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err, Contains("stopping"));
  CHECK(catalog.JobsIn("running") == 0);
  const int64_t completed = catalog.JobsIn("completed");
  CHECK(completed >= 1);
  CHECK(completed < 200);
  CHECK(completed + catalog.JobsIn("available") == 200);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM jobs WHERE state = 'available' AND attempt > 0") == 0);
}

TEST_CASE("SIGTERM releases jobs whose requests are still waiting for the rate limit",
          "[work][signal]") {
  // Given --rate 6 (one request per 10 s) and one image per batch, the
  // second request must wait ~10 s; SIGTERM during that wait releases its
  // job at once instead of waiting or failing it.
  FakeProviderServer server;
  server.SetDimension(3072);
  WorkCatalog catalog(4);
  ChildProcess worker(
      catalog.WorkArgv(Gemini(server, {"--rate", "6", "--batch-size", "1", "--concurrency", "2"})),
      catalog.dir.path(), FakeKeys());
  REQUIRE(WaitUntil([&] { return server.embed_requests() + server.vision_requests() >= 1; }));
  worker.Signal(SIGTERM);
  const auto result = worker.Wait();
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(catalog.JobsIn("running") == 0);
  CHECK(catalog.JobsIn("retryable") == 0);
  CHECK(catalog.JobsIn("dead") == 0);
  CHECK(catalog.JobsIn("available") >= 3);
  CHECK_THAT(result.err, Contains("released"));
  CHECK_THAT(result.err, !Contains(" 0 released"));
  CHECK(server.embed_requests() + server.vision_requests() == 1);
}

TEST_CASE("the heartbeat keeps a lease alive while a slow provider works", "[work][lease]") {
  // Given a 1 s lease and a provider that takes 2.5 s, a second worker
  // started meanwhile must not take the first one's jobs: each job completes
  // once and the provider sees one embedding request.
  FakeProviderServer server;
  server.SetDimension(3072);
  server.SetLatency(std::chrono::milliseconds(2500));
  WorkCatalog catalog(8);
  // A long window: the one batch waits for all 8 images however slowly they
  // decode (the sanitizer build is slow), so the provider sees one request.
  const auto flags = Gemini(server, {"--lease", "1s", "--batch-size", "8", "--batch-window", "60s",
                                     "--poll-interval", "100ms", "--until-empty"});
  ChildProcess first(catalog.WorkArgv(flags), catalog.dir.path(), FakeKeys());
  REQUIRE(WaitUntil([&] { return catalog.JobsIn("running") == 8; }));
  ChildProcess second(catalog.WorkArgv(flags), catalog.dir.path(), FakeKeys());
  const auto a = first.Wait();
  const auto b = second.Wait();
  INFO(a.err << b.err);
  CHECK(a.exit_code == 0);
  CHECK(b.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 8);
  CHECK(QueryInt(catalog.db, "SELECT max(attempt) FROM jobs") == 1);
  CHECK(server.embed_requests() == 1);
  CHECK_THAT(a.err + b.err, !Contains("lost the lease"));
  CHECK_THAT(a.err, Contains("8 completed, 0 to retry, 0 dead, 0 released, 0 lost"));
}

TEST_CASE("the worker holds one batch more than its request slots, ready when a slot frees",
          "[work]") {
  // Given concurrency 1, batches of 5 and a provider answering in 3 s, the
  // worker claims 10 jobs at once: 5 for the request in flight, 5 decoded
  // and batched behind it. While the first request is at the provider (it
  // sees exactly one), 10 jobs are running and 10 untouched.
  FakeProviderServer server;
  server.SetDimension(3072);
  server.SetLatency(std::chrono::milliseconds(3000));
  WorkCatalog catalog(20);
  ChildProcess worker(catalog.WorkArgv(Gemini(server, {"--concurrency", "1", "--batch-size", "5",
                                                       "--batch-window", "60s"})),
                      catalog.dir.path(), FakeKeys());
  REQUIRE(WaitUntil([&] { return server.embed_requests() >= 1; }));
  CHECK(server.embed_requests() == 1);
  CHECK(catalog.JobsIn("running") == 10);
  CHECK(catalog.JobsIn("available") == 10);
  worker.Signal(SIGTERM);
  const auto result = worker.Wait();
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(catalog.JobsIn("running") == 0);
}

TEST_CASE("work with --max-jobs claims at most that many jobs and exits 0", "[work]") {
  WorkCatalog catalog(20);
  const auto result = testing::RunProcess(catalog.WorkArgv({"--max-jobs", "7"}));
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 7);
  CHECK(catalog.JobsIn("available") == 13);
}

TEST_CASE("work with --max-runtime ends a worker waiting for work with exit 0", "[work]") {
  WorkCatalog catalog(0);
  const auto result = testing::RunProcess(catalog.WorkArgv({"--max-runtime", "300ms"}));
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err, Contains("stopping"));
}

}  // namespace
}  // namespace imgbackfill
