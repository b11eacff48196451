// The backfill run's scope, order and bookkeeping, driven in-process through
// the library against a real SQLite file.
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>

#include "imgbackfill/backfill.h"
#include "imgbackfill/error.h"
#include "support/catalog.h"
#include "support/temp_dir.h"

namespace imgbackfill {
namespace {

using testing::CatalogSpec;
using testing::Exec;
using testing::ExpectedOrder;
using testing::kCurrentModel;
using testing::kOldModel;
using testing::QueryInt;
using testing::ReadImages;
using testing::ReadJobs;
using testing::TempDir;

RunParams Params(int64_t limit = 1'000'000, bool product_only = false,
                 std::string model = kCurrentModel) {
  return RunParams{std::move(model), limit, product_only, false};
}

BackfillOutcome Backfill(
    Store& store, const RunParams& params, std::function<bool()> stop = [] { return false; },
    bool restart = false) {
  spdlog::set_level(spdlog::level::warn);
  BackfillOptions options;
  options.params = params;
  options.restart = restart;
  BackfillEnvironment env;
  env.stop_requested = std::move(stop);
  env.me = CurrentProcessHolder();
  return RunBackfill(store, options, env);
}

std::vector<int64_t> QueuedImages(const std::string& db) {
  std::vector<int64_t> ids;
  for (const auto& job : ReadJobs(db)) ids.push_back(job.image_id);
  return ids;
}

// Six hand-made images covering every scope rule; ids chosen so that id
// order and priority order differ.
void MakeRuleCatalog(const std::string& db) {
  testing::MakeSqliteCatalog(db, CatalogSpec{.images = 0});
  Exec(db,
       "INSERT INTO images (id, location, product_id, is_primary, active, embedding_model) VALUES"
       " (1, '/a', NULL, 0, 1, NULL),"                      // other, missing: group 1
       " (2, '/b', 'p1', 1, 1, NULL),"                      // product primary: group 0
       " (3, '/c', 'p1', 0, 1, 'text-embedding-3-small'),"  // other model: group 1
       " (4, '/d', 'p2', 1, 0, NULL),"                      // inactive: out
       " (5, '/e', 'p3', 1, 1, 'local-descriptor-v1'),"     // current model: out
       " (6, '/f', 'p4', 1, 1, 'text-embedding-3-small'),"  // other model: group 0
       " (7, '/g', NULL, 0, 1, NULL),"                      // open job: out
       " (8, '/h', NULL, 0, 1, NULL),"                      // completed job only: in
       " (9, '/i', NULL, 0, 1, NULL)");                     // latest job dead: out
  Exec(db,
       "INSERT INTO jobs (image_id, state) VALUES (7, 'retryable'), (8, 'completed'),"
       " (9, 'completed'), (9, 'dead')");
}

TEST_CASE("a run queues product primary images first, then the rest, each by id") {
  // Given a seeded catalog of 3,000 images with every kind of image,
  // a run without limit queues exactly the candidates, in (group, id) order.
  TempDir dir;
  const std::string db = dir / "catalog.db";
  testing::MakeSqliteCatalog(db, CatalogSpec{.images = 3000, .seed = 7});
  auto store = OpenStore(db);
  const auto expected = ExpectedOrder(ReadImages(db), kCurrentModel, false);
  REQUIRE(expected.size() > 1500);

  const BackfillOutcome out = Backfill(*store, Params());

  CHECK(out.ending == BackfillEnding::kCompleted);
  CHECK(QueuedImages(db) == expected);
  CHECK(out.queued_total == static_cast<int64_t>(expected.size()));
  CHECK(out.candidates.total() == static_cast<int64_t>(expected.size()));
  CHECK(QueryInt(db, "SELECT queued FROM backfill_runs") == static_cast<int64_t>(expected.size()));
  CHECK(QueryInt(db,
                 "SELECT count(*) FROM jobs WHERE state = 'available' AND args = "
                 "'{\"force\":false}' AND kind = 'analyze'") ==
        static_cast<int64_t>(expected.size()));
}

TEST_CASE("scope leaves out inactive, current-model, queued and dead images") {
  // Given one image per scope rule, the run queues 2 and 6 (group 0, by id),
  // then 1, 3 and 8 (group 1), and nothing else.
  TempDir dir;
  const std::string db = dir / "catalog.db";
  MakeRuleCatalog(db);
  auto store = OpenStore(db);

  const BackfillOutcome out = Backfill(*store, Params());

  CHECK(out.candidates.group0 == 2);
  CHECK(out.candidates.group1 == 3);
  const auto jobs = ReadJobs(db);
  std::vector<int64_t> new_jobs;
  for (const auto& job : jobs) {
    if (job.state == "available") new_jobs.push_back(job.image_id);
  }
  CHECK(new_jobs == std::vector<int64_t>{2, 6, 1, 3, 8});
  CHECK(QueryInt(db, "SELECT priority FROM jobs WHERE image_id = 2 AND state = 'available'") == 0);
  CHECK(QueryInt(db, "SELECT priority FROM jobs WHERE image_id = 1 AND state = 'available'") == 1);
}

TEST_CASE("include-dead brings back images whose latest job ended dead") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  MakeRuleCatalog(db);
  auto store = OpenStore(db);
  RunParams params = Params();
  params.include_dead = true;

  Backfill(*store, params);

  CHECK(QueryInt(db, "SELECT count(*) FROM jobs WHERE image_id = 9 AND state = 'available'") == 1);
  CHECK(QueryInt(db, "SELECT count(*) FROM jobs WHERE state = 'available'") == 6);
}

TEST_CASE("product-images-only walks group 0 alone") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  testing::MakeSqliteCatalog(db, CatalogSpec{.images = 2000, .seed = 11});
  auto store = OpenStore(db);
  const auto expected = ExpectedOrder(ReadImages(db), kCurrentModel, true);
  REQUIRE(!expected.empty());

  const BackfillOutcome out = Backfill(*store, Params(1'000'000, true));

  CHECK(QueuedImages(db) == expected);
  CHECK(out.candidates.group1 == 0);
  CHECK(QueryInt(db,
                 "SELECT count(*) FROM jobs j JOIN images i ON i.id = j.image_id"
                 " WHERE i.backfill_group <> 0") == 0);
}

TEST_CASE("the limit counts across a resumed run") {
  // Given a run with limit 10 interrupted after 4 records, the resumed run
  // queues 6 more, not 10, and ends completed with the next ids in order.
  TempDir dir;
  const std::string db = dir / "catalog.db";
  testing::MakeSqliteCatalog(db, CatalogSpec{.images = 500, .seed = 3});
  auto store = OpenStore(db);
  const auto expected = ExpectedOrder(ReadImages(db), kCurrentModel, false);
  int checks = 0;

  const BackfillOutcome first = Backfill(*store, Params(10), [&] { return checks++ == 4; });
  REQUIRE(first.ending == BackfillEnding::kInterrupted);
  CHECK(first.queued_total == 4);
  CHECK(store->FindUnfinishedRun()->state == RunState::kInterrupted);

  const BackfillOutcome second = Backfill(*store, Params(10));
  CHECK(second.resumed);
  CHECK(second.run_id == first.run_id);
  CHECK(second.ending == BackfillEnding::kCompleted);
  CHECK(second.queued_now == 6);
  CHECK(QueuedImages(db) == std::vector<int64_t>(expected.begin(), expected.begin() + 10));
  CHECK(store->FindRun(first.run_id)->state == RunState::kCompleted);
  CHECK(QueryInt(db, "SELECT count(*) FROM backfill_runs") == 1);
}

TEST_CASE("a resumed run keeps its own parameters over the ones given now") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  testing::MakeSqliteCatalog(db, CatalogSpec{.images = 500, .seed = 5});
  auto store = OpenStore(db);
  const auto expected = ExpectedOrder(ReadImages(db), kCurrentModel, true);
  int checks = 0;
  Backfill(*store, Params(1'000'000, true), [&] { return checks++ == 2; });

  const BackfillOutcome resumed = Backfill(*store, Params(7, false));

  CHECK(resumed.resumed);
  CHECK(resumed.params.product_images_only);
  CHECK(resumed.params.limit == 1'000'000);
  CHECK(QueuedImages(db) == expected);
}

TEST_CASE("a record that changed after it was listed is skipped and not counted") {
  // Given a page already listed, image 2 gets embedded and image 6 queued by
  // someone else before their turn: the run skips both, counts neither, and
  // still moves its cursor past them.
  TempDir dir;
  const std::string db = dir / "catalog.db";
  MakeRuleCatalog(db);
  auto store = OpenStore(db);
  int checks = 0;
  auto meddle = [&] {
    if (checks++ == 0) {
      Exec(db,
           "UPDATE images SET embedding_model = 'local-descriptor-v1' WHERE id = 2;"
           "INSERT INTO jobs (image_id, state) VALUES (6, 'available')");
    }
    return false;
  };

  const BackfillOutcome out = Backfill(*store, Params(), meddle);

  CHECK(out.skipped_now == 2);
  CHECK(out.queued_total == 3);
  CHECK(QueryInt(db, "SELECT queued FROM backfill_runs") == 3);
  CHECK(QueryInt(db, "SELECT skipped FROM backfill_runs") == 2);
  CHECK(QueryInt(db, "SELECT count(*) FROM jobs WHERE image_id = 6") == 1);
  CHECK(QueryInt(db, "SELECT count(*) FROM jobs WHERE image_id = 2") == 0);
}

TEST_CASE("a new target model brings images embedded with the old one back into scope") {
  // Given every active image embedded with model A and no open job, a run for
  // A has nothing to do, and a run for B queues every active image.
  TempDir dir;
  const std::string db = dir / "catalog.db";
  testing::MakeSqliteCatalog(db, CatalogSpec{.images = 800, .seed = 9});
  Exec(db, "UPDATE images SET embedding_model = 'local-descriptor-v1'");
  auto store = OpenStore(db);

  const BackfillOutcome same = Backfill(*store, Params());
  CHECK(same.ending == BackfillEnding::kNothingToDo);
  CHECK(store->FindRun(same.run_id)->state == RunState::kCompleted);

  const BackfillOutcome changed = Backfill(*store, Params(1'000'000, false, kOldModel));
  CHECK(changed.ending == BackfillEnding::kCompleted);
  CHECK(QueuedImages(db) == ExpectedOrder(ReadImages(db), kOldModel, false));
  CHECK(changed.queued_total == QueryInt(db, "SELECT count(*) FROM images WHERE active = 1"));
}

TEST_CASE("a dry run counts and previews the candidates and writes nothing") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  testing::MakeSqliteCatalog(db, CatalogSpec{.images = 1000, .seed = 13});
  auto store = OpenStore(db);
  const auto expected = ExpectedOrder(ReadImages(db), kCurrentModel, false);
  BackfillOptions options;
  options.params = Params(5000);
  options.dry_run = true;
  options.dry_run_preview = 25;

  const BackfillOutcome out = RunBackfill(*store, options, BackfillEnvironment{});

  CHECK(out.ending == BackfillEnding::kDryRun);
  CHECK(out.candidates.total() == static_cast<int64_t>(expected.size()));
  REQUIRE(out.preview.size() == 25);
  for (size_t i = 0; i < out.preview.size(); ++i) CHECK(out.preview[i].image_id == expected[i]);
  CHECK(QueryInt(db, "SELECT count(*) FROM jobs") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM backfill_runs") == 0);
}

TEST_CASE("a run refuses to start while another holds the lock, naming the holder") {
  TempDir dir;
  const std::string db = dir / "catalog.db";
  testing::MakeSqliteCatalog(db, CatalogSpec{.images = 50});
  auto holder_store = OpenStore(db);
  const Holder holder{"cron-box-7", 4242, "2026-11-23T08:30:00.000Z"};
  LockAttempt held = holder_store->TryLockBackfill(holder);
  REQUIRE(held.lock);
  auto store = OpenStore(db);

  try {
    Backfill(*store, Params());
    FAIL("the run started although the lock was held");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::kTryAgain);
    CHECK_THAT(e.what(), Catch::Contains("pid 4242 on host cron-box-7"));
  }
  CHECK(QueryInt(db, "SELECT count(*) FROM backfill_runs") == 0);

  held.lock.reset();
  CHECK(Backfill(*store, Params()).ending == BackfillEnding::kCompleted);
}

}  // namespace
}  // namespace imgbackfill
