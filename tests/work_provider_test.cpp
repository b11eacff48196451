// `imgbackfill work` against a fake Gemini / OpenAI server on 127.0.0.1: the
// real executable, the real HTTP client, the real wire formats. Each fault
// the server can be told to produce ends in the job states and errors a
// user would see.
#include <catch2/catch.hpp>
#include <cmath>

#include "support/bad_images.h"
#include "support/catalog.h"
#include "support/cli_fixture.h"
#include "support/fake_provider_server.h"
#include "support/work_fixture.h"

namespace imgbackfill {
namespace {

using Catch::Contains;
using testing::FakeKeys;
using testing::FakeProviderServer;
using testing::QueryInt;
using testing::QueryText;
using testing::WorkCatalog;

constexpr int kGeminiDimension = 3072;
constexpr int kOpenAiDimension = 1536;

std::vector<std::string> GeminiFlags(const FakeProviderServer& server,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"--model",           "gemini-embedding-001",
                                    "--gemini-base-url", server.gemini_base_url(),
                                    "--retry-delay",     "10ms"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

std::vector<std::string> OpenAiFlags(const FakeProviderServer& server,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"--model",           "text-embedding-3-small",
                                    "--openai-base-url", server.openai_base_url(),
                                    "--retry-delay",     "10ms"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  return flags;
}

TEST_CASE("gemini: every job completes with a vector of the model's dimension and a vision JSON",
          "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(kGeminiDimension);
  WorkCatalog catalog(12);
  const auto result = catalog.Work(GeminiFlags(server), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 12);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM image_embeddings WHERE model = "
                 "'gemini-embedding-001' AND dimension = 3072") == 12);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM images WHERE embedding_model = "
                 "'gemini-embedding-001'") == 12);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM image_vision WHERE model = 'gemini-2.5-flash'"
                 " AND json_type(result) = 'object'") == 12);
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_phash") == 12);
  CHECK(server.vision_requests() == 12);
}

TEST_CASE("openai: every job completes with a vector of the model's dimension and a vision JSON",
          "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(kOpenAiDimension);
  WorkCatalog catalog(7);
  const auto result = catalog.Work(OpenAiFlags(server), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 7);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM image_embeddings WHERE model = "
                 "'text-embedding-3-small' AND dimension = 1536") == 7);
  CHECK(QueryInt(catalog.db,
                 "SELECT count(*) FROM image_vision WHERE model = 'gpt-4o-mini'"
                 " AND json_type(result) = 'object'") == 7);
}

TEST_CASE("500 jobs with batch size 50 make exactly 10 embedding requests", "[work][provider]") {
  // A long window makes every batch wait until it is full, so the count
  // does not depend on how fast images decode.
  FakeProviderServer server;
  server.SetDimension(kGeminiDimension);
  WorkCatalog catalog(500);
  const auto result = catalog.Work(
      GeminiFlags(server, {"--batch-size", "50", "--batch-window", "60s", "--concurrency", "4"}),
      FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 500);
  CHECK(server.embed_requests() == 10);
  CHECK(server.embed_batch_sizes() == std::vector<int>(10, 50));
}

TEST_CASE("429 with Retry-After: the job is retried after the server's delay and completes",
          "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(kGeminiDimension);
  server.FailNext(1, 429, 1);
  WorkCatalog catalog(1);
  const auto result =
      catalog.Work(GeminiFlags(server, {"--vision-model", "gemini-2.5-flash"}), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobState(1) == "completed");
  CHECK(catalog.JobAttempt(1) == 2);
  // The retry waited for Retry-After (1 s), not the 10 ms retry delay.
  CHECK_THAT(result.err, Contains("will be retried in 1.0s"));
  CHECK_THAT(catalog.JobError(1), Contains("429"));
}

TEST_CASE("500 is transient: retried, then completed", "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(kOpenAiDimension);
  server.FailNext(1, 500);
  WorkCatalog catalog(1);
  const auto result = catalog.Work(OpenAiFlags(server), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobState(1) == "completed");
  CHECK(catalog.JobAttempt(1) == 2);
  CHECK_THAT(catalog.JobError(1), Contains("500"));
}

TEST_CASE("a provider failing on every attempt ends the job dead after --max-attempts",
          "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(kGeminiDimension);
  server.FailNext(1000, 503);
  WorkCatalog catalog(2);
  const auto result = catalog.Work(GeminiFlags(server, {"--max-attempts", "2"}), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("dead") == 2);
  CHECK(catalog.JobAttempt(1) == 2);
  CHECK_THAT(catalog.JobError(1), Contains("gave up after 2 attempts"));
  CHECK_THAT(catalog.JobError(1), Contains("503"));
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_embeddings") == 0);
  // The pHash did succeed and is kept, so a later retry skips it.
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_phash") == 2);
}

TEST_CASE("an outage holds requests back rather than spending every job's attempts in it",
          "[work][provider]") {
  // Given a provider answering 503 to everything for 1.5 s, and 30 jobs: after
  // 5 failed requests in a row the worker holds every request, then tries
  // one alone after 100 ms, 200 ms, 400 ms... So the outage sees at most
  // those 5, the one other request in flight (concurrency 2) and a probe per
  // pause: 15 at the very most, where jobs retried on their own schedule
  // would keep sending. With --max-attempts 20 no job can fail that often,
  // so all 30 complete once the provider is back.
  FakeProviderServer server;
  server.SetDimension(kGeminiDimension);
  server.FailFor(std::chrono::milliseconds(1500), 503);
  WorkCatalog catalog(30);
  const auto result = catalog.Work(
      {"--model", "gemini-embedding-001", "--gemini-base-url", server.gemini_base_url(),
       "--retry-delay", "100ms", "--max-attempts", "20", "--concurrency", "2", "--batch-size", "5"},
      FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 30);
  CHECK(server.failed_requests() >= 5);
  CHECK(server.failed_requests() <= 15);
  CHECK_THAT(result.err, Contains("5 requests in a row failed") &&
                             Contains("holding every request for 0.1s") &&
                             Contains("answers again"));
}

TEST_CASE("a provider slower than --request-timeout is a transient timeout", "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(kGeminiDimension);
  server.SetLatency(std::chrono::milliseconds(3000));
  WorkCatalog catalog(1);
  const auto result = catalog.Work(
      GeminiFlags(server, {"--request-timeout", "200ms", "--max-attempts", "1"}), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobState(1) == "dead");
  CHECK_THAT(catalog.JobError(1), Contains("gave up after 1 attempt"));
  CHECK_THAT(catalog.JobError(1), Contains("(timeout)"));
}

TEST_CASE("malformed JSON from the provider is transient: retried, then completed",
          "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(kOpenAiDimension);
  server.MalformNext(1);
  WorkCatalog catalog(1);
  const auto result = catalog.Work(OpenAiFlags(server), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobState(1) == "completed");
  CHECK(catalog.JobAttempt(1) == 2);
  CHECK_THAT(catalog.JobError(1), Contains("malformed"));
}

TEST_CASE("a vector of the wrong dimension is permanent: dead on the first attempt",
          "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(768);
  WorkCatalog catalog(2);
  const auto result = catalog.Work(GeminiFlags(server), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("dead") == 2);
  CHECK(catalog.JobAttempt(1) == 1);
  CHECK_THAT(catalog.JobError(1), Contains("768"));
  CHECK_THAT(catalog.JobError(1), Contains("3072"));
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_embeddings") == 0);
}

TEST_CASE("one image the provider refuses fails alone while the rest of its batch completes",
          "[work][provider]") {
  // Given 6 images in one batch, one of them 101x77 pixels, which the
  // provider refuses (400), as a real provider refuses the whole request.
  FakeProviderServer server;
  server.SetDimension(kGeminiDimension);
  server.RejectImagesOfSize(101, 77);
  WorkCatalog catalog(5);
  const auto odd = catalog.dir.path() / "odd.jpg";
  testing::WriteJpeg(odd, 101, 77, 4242);
  const int64_t odd_id = catalog.AddImage(odd.string());
  const auto result =
      catalog.Work(GeminiFlags(server, {"--batch-window", "60s", "--batch-size", "6"}), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("completed") == 5);
  CHECK(catalog.JobState(odd_id) == "dead");
  CHECK(catalog.JobAttempt(odd_id) == 1);
  CHECK_THAT(catalog.JobError(odd_id), Contains("400"));
  CHECK(QueryInt(catalog.db, "SELECT count(*) FROM image_embeddings") == 5);
}

TEST_CASE("API keys appear in no log line and nowhere in the database", "[work][provider]") {
  FakeProviderServer server;
  server.SetDimension(kGeminiDimension);
  server.FailNext(1, 401);
  WorkCatalog catalog(3);
  const auto result = catalog.Work(
      GeminiFlags(server, {"--max-attempts", "1", "--log-level", "debug"}), FakeKeys());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(catalog.JobsIn("dead") >= 1);  // the 401 reached a job
  CHECK_THAT(result.err + result.out, !Contains(FakeProviderServer::kGeminiKey));
  const std::string dump = testing::ReadBytes(catalog.db) + testing::ReadBytes(catalog.db + "-wal");
  CHECK(dump.find(FakeProviderServer::kGeminiKey) == std::string::npos);
  // The key did reach the server, in its header.
  CHECK_THAT(server.last_request_text(), Contains(FakeProviderServer::kGeminiKey));
}

TEST_CASE("a missing API key is a configuration error that names the variable",
          "[work][provider]") {
  WorkCatalog catalog(1);
  const auto result = catalog.Work({"--model", "gemini-embedding-001"}, {{"GEMINI_API_KEY", ""}});
  CHECK(result.exit_code == 78);
  CHECK_THAT(result.err, Contains("GEMINI_API_KEY is not set"));
  CHECK(catalog.JobState(1) == "available");
}

}  // namespace
}  // namespace imgbackfill
