// The worker's side of the Store contract (claim, lease, complete, fail,
// release), run against a real SQLite file. Expiry is made deterministic by
// moving lease_expires_at into the past with plain SQL, never by sleeping.
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "imgbackfill/store.h"
#include "support/catalog.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

using testing::Exec;
using testing::QueryInt;
using testing::TempDir;

struct QueueFixture {
  TempDir dir;
  std::string db = (dir.path() / "catalog.db").string();
  std::unique_ptr<Store> store;

  // `jobs` images, each with one available job; priority 1 except every
  // third image, which is a product's primary (priority 0).
  explicit QueueFixture(int jobs) {
    testing::MakeSqliteCatalog(db, testing::CatalogSpec{.images = 0});
    for (int id = 1; id <= jobs; ++id) {
      const bool primary = id % 3 == 0;
      Exec(db, "INSERT INTO images (id, location, product_id, is_primary) VALUES (" +
                   std::to_string(id) + ", '/img/" + std::to_string(id) + ".jpg', " +
                   (primary ? "'p'" : "NULL") + ", " + (primary ? "1" : "0") + ")");
      Exec(db, "INSERT INTO jobs (image_id, priority) VALUES (" + std::to_string(id) + ", " +
                   (primary ? "0" : "1") + ")");
    }
    store = OpenStore(db);
  }

  std::vector<ClaimedJob> Claim(const std::string& owner, int limit, int max_attempts = 3) {
    return store->ClaimJobs(ClaimParams{owner, limit, 60'000, max_attempts});
  }
  void ExpireLeases() {
    Exec(db,
         "UPDATE jobs SET lease_expires_at = '2000-01-01T00:00:00.000Z' WHERE state = 'running'");
  }
  std::string State(int64_t job_id) {
    return testing::QueryText(db, "SELECT state FROM jobs WHERE id = " + std::to_string(job_id));
  }
};

AnalysisResults PhashOnly(uint64_t phash) {
  AnalysisResults results;
  results.phash = phash;
  return results;
}

AnalysisResults EmbeddingOnly(std::string model, std::vector<float> vector) {
  AnalysisResults results;
  results.embedding = EmbeddingResult{std::move(model), std::move(vector)};
  return results;
}

std::vector<int64_t> Ids(const std::vector<ClaimedJob>& jobs) {
  std::vector<int64_t> ids;
  for (const auto& claimed : jobs) ids.push_back(claimed.job.id);
  return ids;
}

TEST_CASE("jobs are claimed by priority then id, each once, with the attempt counted", "[queue]") {
  // Given 9 jobs, 3 of them priority 0 (ids 3, 6, 9).
  QueueFixture f(9);
  const auto first = f.Claim("w1", 4);
  CHECK(Ids(first) == std::vector<int64_t>{3, 6, 9, 1});
  const auto second = f.Claim("w2", 10);
  CHECK(Ids(second) == std::vector<int64_t>{2, 4, 5, 7, 8});
  CHECK(f.Claim("w3", 10).empty());
  for (const auto& claimed : first) {
    CHECK(claimed.job.attempt == 1);
    CHECK(claimed.image.location == "/img/" + std::to_string(claimed.image.id) + ".jpg");
    CHECK_FALSE(claimed.force);
    CHECK_FALSE(claimed.current.has_phash);
  }
  CHECK(QueryInt(f.db,
                 "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_owner = 'w1'"
                 " AND lease_expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now')") == 4);
}

TEST_CASE("a job whose lease expired is claimed again by another worker", "[queue]") {
  QueueFixture f(3);
  REQUIRE(f.Claim("dead-worker", 3).size() == 3);
  CHECK(f.Claim("w2", 3).empty());
  f.ExpireLeases();
  const auto again = f.Claim("w2", 3);
  CHECK(Ids(again) == std::vector<int64_t>{3, 1, 2});
  for (const auto& claimed : again) CHECK(claimed.job.attempt == 2);
  // The dead worker can no longer write anything for them.
  CHECK_FALSE(f.store->CompleteJob(1, "dead-worker", PhashOnly(7)));
  CHECK_FALSE(f.store->ReadResults(1).phash);
  CHECK(f.store->ExtendLeases("dead-worker", std::vector<int64_t>{1, 2}, 60'000) ==
        std::vector<int64_t>{1, 2});
  CHECK(f.store->ExtendLeases("w2", std::vector<int64_t>{1, 2}, 60'000).empty());
}

TEST_CASE("a lease that expires on the last attempt ends the job dead, not claimed again",
          "[queue]") {
  QueueFixture f(2);
  REQUIRE(f.Claim("w1", 2, /*max_attempts=*/1).size() == 2);
  f.ExpireLeases();
  CHECK(f.Claim("w2", 2).empty());
  CHECK(f.State(1) == "dead");
  CHECK_THAT(testing::QueryText(f.db, "SELECT last_error FROM jobs WHERE id = 1"),
             Catch::Contains("the worker w1 stopped while holding it on attempt 1 of 1"));
}

TEST_CASE("completing a job writes its results in the same transaction", "[queue]") {
  QueueFixture f(1);
  REQUIRE(f.Claim("w1", 1).size() == 1);
  AnalysisResults results;
  results.phash = 0x8000'0000'0000'0001ULL;  // the top bit survives SQLite's signed integer
  results.embedding = EmbeddingResult{"local-descriptor-v1", {0.5f, -0.25f, 1.0f}};
  results.vision = VisionResult{"local-vision-v1", R"({"width":10})"};
  CHECK(f.store->CompleteJob(1, "w1", results));
  CHECK(f.State(1) == "completed");
  const AnalysisResults stored = f.store->ReadResults(1);
  CHECK(stored.phash == results.phash);
  REQUIRE(stored.embedding);
  CHECK(stored.embedding->vector == results.embedding->vector);
  CHECK(stored.vision->json == results.vision->json);
  CHECK(f.store->FindImage(1)->embedding_model == "local-descriptor-v1");
  // Completing twice is refused: the job is no longer running under w1.
  CHECK_FALSE(f.store->CompleteJob(1, "w1", results));
}

TEST_CASE("a re-embed replaces the previous model's vector", "[queue]") {
  QueueFixture f(1);
  REQUIRE(f.Claim("w1", 1).size() == 1);
  REQUIRE(f.store->CompleteJob(1, "w1", EmbeddingOnly("old-model", {1, 2, 3, 4})));
  Exec(f.db, "INSERT INTO jobs (image_id) VALUES (1)");
  const auto claimed = f.Claim("w1", 1);
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].current.embedding_model == "old-model");
  REQUIRE(f.store->CompleteJob(claimed[0].job.id, "w1", EmbeddingOnly("new-model", {9, 8})));
  CHECK(QueryInt(f.db, "SELECT count(*) FROM image_embeddings WHERE image_id = 1") == 1);
  CHECK(f.store->ReadResults(1).embedding->model == "new-model");
  CHECK(f.store->ReadResults(1).embedding->vector == std::vector<float>{9, 8});
  CHECK(f.store->FindImage(1)->embedding_model == "new-model");
}

TEST_CASE("a retried job waits for its run_at and keeps the stages that succeeded", "[queue]") {
  QueueFixture f(2);
  REQUIRE(f.Claim("w1", 2).size() == 2);
  JobFailureParams retry{FailureAction::kRetry, "gemini answered 503", 3'600'000, {}};
  retry.partial.phash = 42;
  CHECK(f.store->FailJob(1, "w1", retry));
  CHECK(f.store->FailJob(2, "w1", {FailureAction::kDead, "cannot decode /img/2.jpg", 0, {}}));
  CHECK(f.State(1) == "retryable");
  CHECK(f.State(2) == "dead");
  CHECK(f.store->ReadResults(1).phash == 42u);
  CHECK(testing::QueryText(f.db, "SELECT last_error FROM jobs WHERE id = 2") ==
        "cannot decode /img/2.jpg");
  // Not due for an hour: nothing to claim, and the outlook says when.
  CHECK(f.Claim("w1", 2).empty());
  QueueOutlook outlook = f.store->ReadQueueOutlook();
  CHECK(outlook.open == 1);
  CHECK(outlook.due_now == 0);
  REQUIRE(outlook.next_due_in_ms);
  CHECK(*outlook.next_due_in_ms > 3'500'000);
  CHECK(*outlook.next_due_in_ms <= 3'600'000);
  Exec(f.db, "UPDATE jobs SET run_at = '2000-01-01T00:00:00.000Z' WHERE id = 1");
  const auto again = f.Claim("w1", 2);
  REQUIRE(again.size() == 1);
  CHECK(again[0].job.attempt == 2);
  CHECK(again[0].current.has_phash);
}

TEST_CASE("a cancelled job keeps its reason, is no longer open and is claimed by nobody",
          "[queue]") {
  // Given two claimed jobs, cancelling one by its owner ends it cancelled
  // with the reason, the lease cleared and finished_at set; another owner's
  // cancel changes nothing.
  QueueFixture f(2);
  REQUIRE(f.Claim("w1", 2).size() == 2);
  const JobFailureParams cancel{FailureAction::kCancel, "image 1 was deactivated", 0, {}};
  CHECK_FALSE(f.store->FailJob(1, "someone-else", cancel));
  CHECK(f.store->FailJob(1, "w1", cancel));
  CHECK(f.State(1) == "cancelled");
  CHECK(testing::QueryText(f.db, "SELECT last_error FROM jobs WHERE id = 1") ==
        "image 1 was deactivated");
  CHECK(QueryInt(f.db,
                 "SELECT count(*) FROM jobs WHERE id = 1 AND lease_owner IS NULL"
                 " AND lease_expires_at IS NULL AND finished_at IS NOT NULL") == 1);
  CHECK(f.store->ReadQueueOutlook().open == 1);
  f.ExpireLeases();
  CHECK(Ids(f.Claim("w2", 2)) == std::vector<int64_t>{2});
}

TEST_CASE("released jobs are available again with the attempt uncounted", "[queue]") {
  QueueFixture f(3);
  REQUIRE(f.Claim("w1", 3).size() == 3);
  CHECK(f.store->ReleaseJobs("w1", std::vector<int64_t>{1, 2}) == 2);
  CHECK(f.store->ReleaseJobs("someone-else", std::vector<int64_t>{3}) == 0);
  CHECK(f.State(1) == "available");
  CHECK(QueryInt(f.db, "SELECT attempt FROM jobs WHERE id = 1") == 0);
  CHECK(f.State(3) == "running");
  CHECK(f.store->ReadQueueOutlook().open == 3);
}

TEST_CASE("concurrent claimers never get the same job", "[queue]") {
  // Given 600 jobs and four threads, each with its own connection, claiming
  // 7 at a time until none are left: every job is claimed exactly once.
  QueueFixture f(600);
  std::vector<std::vector<int64_t>> claimed(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto store = OpenStore(f.db);
      const std::string owner = "w" + std::to_string(t);
      for (;;) {
        const auto jobs = store->ClaimJobs(ClaimParams{owner, 7, 60'000, 3});
        if (jobs.empty()) break;
        for (const auto& job : jobs) claimed[t].push_back(job.job.id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::multiset<int64_t> all;
  for (const auto& ids : claimed) all.insert(ids.begin(), ids.end());
  CHECK(all.size() == 600);
  CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 600);
}

}  // namespace
}  // namespace imgbackfill
