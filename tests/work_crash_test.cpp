// The worker's crash safety: SIGKILLed at random moments (fixed seed) while
// draining 2,000 jobs, then run to the end. Every job ends completed, every
// image holds exactly one current result of each kind, and the stored pHash
// is the image's own: nothing lost, nothing written twice.
#include <signal.h>

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "imgbackfill/image.h"
#include "support/catalog.h"
#include "support/process.h"
#include "support/work_fixture.h"

namespace imgbackfill {
namespace {

using testing::ChildProcess;
using testing::QueryInt;
using testing::WorkCatalog;

constexpr int kJobs = 2000;
constexpr int kRounds = 24;

int64_t Completed(const WorkCatalog& catalog) { return catalog.JobsIn("completed"); }

TEST_CASE("a worker SIGKILLed 24 times while draining 2,000 jobs loses and repeats nothing",
          "[work][crash]") {
  WorkCatalog catalog(kJobs, 11);
  // A lease of 1 s lets the next worker take a killed one's jobs soon. A
  // lease that expires counts as an attempt (a file that crashes the worker
  // must end dead), so the attempts are raised for this test's many kills.
  const std::vector<std::string> flags = {"--lease",         "1s",   "--max-attempts", "100",
                                          "--batch-size",    "25",   "--batch-window", "20ms",
                                          "--poll-interval", "50ms", "--log-level",    "warn"};
  std::mt19937 rng(20261123);
  int kills = 0;
  for (int round = 0; round < kRounds; ++round) {
    const int64_t before = Completed(catalog);
    ChildProcess worker(catalog.WorkArgv(flags), catalog.dir.path());
    if (round % 2 == 0) {
      // Early: during start-up or the first claims.
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 80)(rng)));
    } else {
      // Mid-drain: after a random number of further completions.
      const int64_t target = before + std::uniform_int_distribution<int>(5, 60)(rng);
      const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (Completed(catalog) < target && std::chrono::steady_clock::now() < limit) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    worker.Signal(SIGKILL);
    const auto result = worker.Wait();
    if (result.term_signal == SIGKILL) ++kills;
    INFO("round " << round << ": " << result.err);
    REQUIRE(Completed(catalog) < kJobs);  // the kills all land before the end
  }
  CHECK(kills >= 20);
  // Some work was cut short and taken again after its lease expired.
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM jobs WHERE attempt > 1") > 0);

  const auto last = catalog.Work({"--lease", "1s", "--max-attempts", "100"});
  INFO(last.err);
  REQUIRE(last.exit_code == 0);
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM jobs") == kJobs);
  CHECK(Completed(catalog) == kJobs);
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_phash") == kJobs);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM image_embeddings WHERE model = "
                 "'local-descriptor-v1' AND dimension = 256") == kJobs);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM image_vision WHERE model = "
                 "'local-vision-v1'") == kJobs);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM images WHERE embedding_model = "
                 "'local-descriptor-v1'") == kJobs);
  // Each stored hash belongs to its own file.
  auto http = MakeCurlTransport();
  int64_t mismatched = 0;
  for (int64_t id = 1; id <= kJobs; ++id) {
    const std::string location = testing::QueryText(
        catalog.db, "SELECT location FROM images WHERE id = " + std::to_string(id));
    const DecodedImage decoded = DecodeImage(LoadImageBytes(location, {}, *http), location, {});
    const int64_t stored = QueryInt(
        catalog.db, "SELECT phash FROM image_phash WHERE image_id = " + std::to_string(id));
    if (static_cast<uint64_t>(stored) != PerceptualHash(decoded.gray)) ++mismatched;
  }
  CHECK(mismatched == 0);
}

}  // namespace
}  // namespace imgbackfill
