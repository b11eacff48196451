// `imgbackfill work` with the local provider, through the real executable:
// full analysis of every queued image, force=false skipping, a re-embed
// replacing the old vector, and broken files ending dead without harming
// the rest of their batch.
#include <catch2/catch.hpp>
#include <filesystem>

#include "support/bad_images.h"
#include "support/catalog.h"
#include "support/process.h"
#include "support/work_fixture.h"

namespace imgbackfill {
namespace {

using Catch::Contains;
using Catch::StartsWith;
using testing::BadImage;
using testing::Exec;
using testing::QueryInt;
using testing::QueryText;
using testing::WorkCatalog;

std::string HashOf(const std::string& file) {
  const auto result = testing::RunImgbackfill({"hash", file});
  REQUIRE(result.exit_code == 0);
  return result.out.substr(0, 16);
}

std::string StoredHash(const WorkCatalog& catalog, int64_t id) {
  char hex[17];
  std::snprintf(
      hex, sizeof hex, "%016llx",
      static_cast<unsigned long long>(QueryInt(
          catalog.db, "SELECT phash FROM image_phash WHERE image_id = " + std::to_string(id))));
  return hex;
}

TEST_CASE("work --until-empty completes every job with pHash, embedding and vision", "[work]") {
  // Given 30 queued images, the local provider gives each its pHash (the
  // same as `imgbackfill hash` prints), a 256-float unit vector tagged
  // local-descriptor-v1, and a vision JSON; every job completes; exit 0.
  WorkCatalog catalog(30);
  const auto result = catalog.Work({});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 30);
  CHECK_THAT(result.err, Contains("the queue is empty"));
  CHECK_THAT(result.err, Contains("30 completed"));
  for (int64_t id : {1, 17, 30}) {
    const std::string file =
        QueryText(catalog.db, "SELECT location FROM images WHERE id = " + std::to_string(id));
    CHECK(StoredHash(catalog, id) == HashOf(file));
  }
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM image_embeddings WHERE model = "
                 "'local-descriptor-v1' AND dimension = 256") == 30);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM images WHERE embedding_model = "
                 "'local-descriptor-v1'") == 30);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM image_vision WHERE model = 'local-vision-v1'"
                 " AND json_extract(result, '$.width') BETWEEN 48 AND 79") == 30);
}

TEST_CASE("a job whose image was deactivated after it was queued is cancelled unanalyzed",
          "[work]") {
  // Given 10 queued images of which 3 and 7 are then deactivated, the worker
  // cancels their jobs with the reason and writes no result for them (no
  // file is read: 7's file is even gone); the other 8 complete.
  WorkCatalog catalog(10);
  Exec(catalog.db, "UPDATE images SET active = 0 WHERE id IN (3, 7)");
  std::filesystem::remove(QueryText(catalog.db, "SELECT location FROM images WHERE id = 7"));
  const auto result = catalog.Work({});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 8);
  CHECK(catalog.JobsIn("cancelled") == 2);
  CHECK(catalog.JobState(3) == "cancelled");
  CHECK_THAT(catalog.JobError(7), Contains("image 7 was deactivated after this job was queued"));
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_phash WHERE image_id IN (3, 7)") == 0);
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_embeddings WHERE image_id IN (3, 7)") ==
        0);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM jobs WHERE state = 'cancelled'"
                 " AND finished_at IS NOT NULL AND lease_owner IS NULL") == 2);
  CHECK_THAT(result.err, Contains("2 cancelled (image deactivated)"));
}

TEST_CASE("force=false skips stages already current and force=true redoes them", "[work]") {
  WorkCatalog catalog(1);
  REQUIRE(catalog.Work({}).exit_code == 0);
  const std::string hash = StoredHash(catalog, 1);
  // A stale marker in the stored pHash shows whether the stage ran again.
  Exec(catalog.db, "UPDATE image_phash SET phash = 7; INSERT INTO jobs (image_id) VALUES (1)");
  REQUIRE(catalog.Work({}).exit_code == 0);
  CHECK(catalog.JobState(1) == "completed");
  CHECK(QueryInt(catalog.db, "SELECT phash FROM image_phash") == 7);
  Exec(catalog.db, "INSERT INTO jobs (image_id, args) VALUES (1, '{\"force\":true}')");
  REQUIRE(catalog.Work({}).exit_code == 0);
  CHECK(StoredHash(catalog, 1) == hash);
}

TEST_CASE("a job for an image embedded by another model replaces that vector", "[work]") {
  WorkCatalog catalog(1);
  Exec(catalog.db,
       "INSERT INTO image_embeddings VALUES (1, 'text-embedding-3-small', 2, x'0000803f00000040',"
       " '2026-01-01T00:00:00Z'); UPDATE images SET embedding_model = 'text-embedding-3-small'");
  REQUIRE(catalog.Work({}).exit_code == 0);
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_embeddings") == 1);
  CHECK(QueryText(catalog.db, "SELECT model || ':' || dimension FROM image_embeddings") ==
        "local-descriptor-v1:256");
  CHECK(QueryText(catalog.db, "SELECT embedding_model FROM images") == "local-descriptor-v1");
}

TEST_CASE("bad image files end dead with a clear error while the rest of their batch completes",
          "[work]") {
  // Given 5 good images and six broken ones in one batch, each broken one
  // ends dead on its first attempt with a message naming the file and the
  // problem, and the good ones complete.
  WorkCatalog catalog(5);
  const auto dir = catalog.dir.path();
  const auto add = [&](BadImage kind) {
    return catalog.AddImage(testing::WriteBadImage(dir, kind).string());
  };
  const std::string missing = (dir / "missing.jpg").string();
  const int64_t missing_id = catalog.AddImage(missing);
  const int64_t empty = add(BadImage::kEmpty);
  const int64_t truncated = add(BadImage::kTruncatedJpeg);
  const int64_t text = add(BadImage::kTextNamedJpeg);
  const int64_t bad_crc = add(BadImage::kPngBadCrc);
  const int64_t bomb = add(BadImage::kPixelBomb);

  const auto result = catalog.Work({"--batch-size", "50", "--batch-window", "200ms"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 5);
  CHECK(catalog.JobsIn("dead") == 6);
  CHECK(QueryInt(catalog.db, "SELECT max(attempt) FROM jobs") == 1);
  CHECK_THAT(catalog.JobError(missing_id), StartsWith(missing + ": no such file"));
  CHECK_THAT(catalog.JobError(empty), Contains("empty.jpg: is empty (0 bytes)"));
  CHECK_THAT(catalog.JobError(truncated), Contains("truncated.jpg: Premature end of input file"));
  CHECK_THAT(catalog.JobError(text), Contains("text.jpg: not a known image format"));
  CHECK_THAT(catalog.JobError(bad_crc), Contains("bad-crc.png: libpng read error"));
  CHECK_THAT(catalog.JobError(bomb),
             Contains("bomb.png claims 30000x30000 pixels (900.0 megapixels), over the limit"));
  // The failures are logged as dead jobs, naming the image.
  CHECK_THAT(result.err, Contains("(image " + std::to_string(bomb) + ", "));
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_embeddings") == 5);
}

TEST_CASE("work --until-empty ends when its last job is recorded, not a poll interval later",
          "[work]") {
  // Given a poll interval of an hour, the worker must still notice at once
  // that the queue is empty after its last job; otherwise it would sleep
  // for the hour (and the test would hit ctest's timeout).
  WorkCatalog catalog(3);
  const auto result = catalog.Work({"--poll-interval", "1h", "--batch-window", "10ms"});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 3);
  CHECK_THAT(result.err, Contains("the queue is empty"));
}

TEST_CASE("once the queue is drained a partial batch goes out without waiting its window",
          "[work]") {
  // Given 8 jobs, batches of 50 and a one-hour window, nothing more can join
  // the batch of 8 once they are claimed: it is sent as soon as they are
  // prepared, and the pass ends (without the fix it waits the hour, and the
  // test times out). The same with --max-jobs 5.
  WorkCatalog catalog(8);
  const auto result = catalog.Work({"--batch-window", "1h"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 8);

  WorkCatalog more(8);
  const auto limited =
      testing::RunProcess(more.WorkArgv({"--batch-window", "1h", "--max-jobs", "5"}));
  INFO(limited.err);
  REQUIRE(limited.exit_code == 0);
  CHECK(more.JobsIn("completed") == 5);
}

TEST_CASE("a worker on an empty queue with --until-empty exits 0 at once", "[work]") {
  WorkCatalog catalog(0);
  const auto result = catalog.Work({});
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.err, Contains("the queue is empty"));
}

}  // namespace
}  // namespace imgbackfill
