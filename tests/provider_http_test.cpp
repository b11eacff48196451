// The gemini and openai providers, through the real libcurl transport,
// against FakeProviderServer on 127.0.0.1: what each answer and each fault
// becomes. Every case runs for both providers.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "imgbackfill/provider.h"
#include "support/bad_images.h"
#include "support/fake_provider_server.h"

namespace imgbackfill {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using testing::EncodeJpeg;
using testing::FakeProviderServer;
using namespace std::chrono_literals;

// Grants every request at once and records what the providers ask of it.
class RecordingPacer : public RequestPacer {
 public:
  bool Acquire() override {
    ++acquired;
    return !closed;
  }
  void PauseFor(std::chrono::milliseconds delay) override { pauses.push_back(delay); }
  void Close() override { closed = true; }
  void Report(std::optional<std::string> failure) override { reports.push_back(failure); }
  std::chrono::steady_clock::time_point NextTurn() override {
    return std::chrono::steady_clock::now();
  }

  int acquired = 0;
  std::vector<std::optional<std::string>> reports;  // per request sent: the failure or none
  std::vector<std::chrono::milliseconds> pauses;
  bool closed = false;
};

// One hosted provider wired to the fake server, with a given embedding
// model and the dimension the registry gives it.
struct Hosted {
  explicit Hosted(const std::string& provider, std::string key = "") {
    ProviderConfig config;
    config.provider = provider;
    if (provider == "gemini") {
      config.embedding_model = "gemini-embedding-001";
      dimension = 3072;
      config.base_url = server.gemini_base_url();
      config.api_key = key.empty() ? FakeProviderServer::kGeminiKey : key;
    } else {
      config.embedding_model = "text-embedding-3-small";
      dimension = 1536;
      config.base_url = server.openai_base_url();
      config.api_key = key.empty() ? FakeProviderServer::kOpenAiKey : key;
    }
    config.request_timeout = 5s;
    server.SetDimension(dimension);
    model = config.embedding_model;
    provider_ptr = MakeProvider(config, *http, pacer);
  }
  Provider& provider() { return *provider_ptr; }

  FakeProviderServer server;
  std::unique_ptr<HttpTransport> http = MakeCurlTransport();
  RecordingPacer pacer;
  int dimension = 0;
  std::string model;
  std::unique_ptr<Provider> provider_ptr;
};

// Images as the worker prepares them for a hosted provider: JPEG bytes.
struct Images {
  // `count` different JPEGs of 64x48 pixels, seeds 1..count.
  explicit Images(int count) {
    for (int i = 0; i < count; ++i) Add(64, 48, static_cast<uint32_t>(i + 1));
  }
  void Add(int width, int height, uint32_t seed) {
    PreparedImage image;
    image.image_id = static_cast<int64_t>(prepared.size()) + 1;
    image.location = "test-" + std::to_string(seed) + ".jpg";
    image.decoded.width = width;
    image.decoded.height = height;
    image.decoded.format = "jpeg";
    image.decoded.encoded = EncodeJpeg(width, height, seed);
    prepared.push_back(std::move(image));
  }
  std::vector<const PreparedImage*> pointers() const {
    std::vector<const PreparedImage*> out;
    for (const PreparedImage& image : prepared) out.push_back(&image);
    return out;
  }
  std::vector<PreparedImage> prepared;
};

const Failure& FailureOf(const EmbedOutcome& outcome) {
  REQUIRE(std::holds_alternative<Failure>(outcome));
  return std::get<Failure>(outcome);
}

TEST_CASE("a batch of images returns one vector per image, the one computed from its JPEG",
          "[provider]") {
  // Given 5 images in one call, one request carries them all and result i
  // is the server's vector for image i's bytes (OpenAI's answer comes in
  // reverse order, so this also proves matching by index).
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  const Images images(5);
  const std::vector<EmbedOutcome> results = hosted.provider().Embed(images.pointers());
  REQUIRE(results.size() == 5);
  for (size_t i = 0; i < results.size(); ++i) {
    INFO(name << " image " << i);
    REQUIRE(std::holds_alternative<std::vector<float>>(results[i]));
    CHECK(std::get<std::vector<float>>(results[i]) ==
          FakeProviderServer::VectorFor(images.prepared[i].decoded.encoded, hosted.dimension));
  }
  CHECK(hosted.server.embed_batch_sizes() == std::vector<int>{5});
  CHECK(hosted.pacer.acquired == 1);
}

TEST_CASE("a description is the JSON object the model answered", "[provider]") {
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  Images images(0);
  images.Add(80, 40, 7);
  const VisionOutcome outcome = hosted.provider().Describe(images.prepared[0]);
  REQUIRE(std::holds_alternative<std::string>(outcome));
  const auto object = nlohmann::json::parse(std::get<std::string>(outcome));
  CHECK(object["caption"] == "a test image of 80x40 pixels");
  CHECK(object["tags"] == nlohmann::json{"test", "80x40"});
  CHECK(hosted.server.vision_requests() == 1);
  CHECK(hosted.pacer.acquired == 1);
}

TEST_CASE("a 429 with Retry-After fails every item transiently with it, and pauses the pacer",
          "[provider]") {
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  hosted.server.FailNext(1, 429, 7);
  const Images images(3);
  for (const EmbedOutcome& result : hosted.provider().Embed(images.pointers())) {
    const Failure& failure = FailureOf(result);
    CHECK(failure.transient);
    CHECK(failure.retry_after == std::chrono::milliseconds(7000));
    CHECK_THAT(failure.message, Contains(name) && Contains("429"));
  }
  CHECK(hosted.pacer.pauses == std::vector<std::chrono::milliseconds>{7000ms});
  // The fault was one request long: the next call succeeds.
  CHECK(std::holds_alternative<std::vector<float>>(hosted.provider().Embed(images.pointers())[0]));
}

TEST_CASE("a 500 is a transient failure of every item, and of a description", "[provider]") {
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  hosted.server.FailNext(2, 500);
  const Images images(2);
  for (const EmbedOutcome& result : hosted.provider().Embed(images.pointers())) {
    CHECK(FailureOf(result).transient);
    CHECK_THAT(FailureOf(result).message, Contains("500") && Contains("Injected failure"));
  }
  const VisionOutcome vision = hosted.provider().Describe(images.prepared[0]);
  REQUIRE(std::holds_alternative<Failure>(vision));
  CHECK(std::get<Failure>(vision).transient);
  CHECK(hosted.server.embed_requests() == 1);  // a transient failure is not split up
  // Both went to the pacer's outage breaker as failures of the provider.
  REQUIRE(hosted.pacer.reports.size() == 2);
  for (const auto& report : hosted.pacer.reports) {
    REQUIRE(report.has_value());
    CHECK_THAT(*report, Contains("500"));
  }
}

TEST_CASE("a server slower than the request timeout is a transient timeout", "[provider]") {
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  hosted.provider_ptr.reset();
  ProviderConfig config;
  config.provider = name;
  config.api_key =
      name == "gemini" ? FakeProviderServer::kGeminiKey : FakeProviderServer::kOpenAiKey;
  config.base_url =
      name == "gemini" ? hosted.server.gemini_base_url() : hosted.server.openai_base_url();
  config.request_timeout = 200ms;
  hosted.provider_ptr = MakeProvider(config, *hosted.http, hosted.pacer);
  hosted.server.SetLatency(3s);
  const Images images(1);
  const std::vector<EmbedOutcome> results = hosted.provider().Embed(images.pointers());
  const Failure& failure = FailureOf(results[0]);
  CHECK(failure.transient);
  CHECK_THAT(failure.message, Contains("timeout"));
}

TEST_CASE("a 200 whose body is not JSON is a transient malformed answer", "[provider]") {
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  hosted.server.MalformNext(2);
  const Images images(2);
  for (const EmbedOutcome& result : hosted.provider().Embed(images.pointers())) {
    CHECK(FailureOf(result).transient);
    CHECK_THAT(FailureOf(result).message, Contains("malformed answer from " + name));
  }
  const VisionOutcome vision = hosted.provider().Describe(images.prepared[0]);
  REQUIRE(std::holds_alternative<Failure>(vision));
  CHECK(std::get<Failure>(vision).transient);
}

TEST_CASE("vectors of the wrong length fail each item permanently, naming both lengths",
          "[provider]") {
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  hosted.server.SetDimension(768);
  const Images images(3);
  for (const EmbedOutcome& result : hosted.provider().Embed(images.pointers())) {
    CHECK_FALSE(FailureOf(result).transient);
    CHECK(FailureOf(result).message ==
          hosted.model + " returned 768 values, expected " + std::to_string(hosted.dimension));
  }
}

TEST_CASE("one image the provider refuses fails alone, and the others in its batch get vectors",
          "[provider]") {
  // Given a batch of 5 where image 3 has a size the provider refuses (it
  // answers the whole batch 400), the batch is retried image by image: four
  // vectors and one permanent failure carrying the provider's message.
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  hosted.server.RejectImagesOfSize(33, 21);
  Images images(0);
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    if (seed == 3) {
      images.Add(33, 21, seed);
    } else {
      images.Add(64, 48, seed);
    }
  }
  const std::vector<EmbedOutcome> results = hosted.provider().Embed(images.pointers());
  REQUIRE(results.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    INFO(name << " image " << i);
    if (i == 2) {
      CHECK_FALSE(FailureOf(results[i]).transient);
      CHECK_THAT(FailureOf(results[i]).message, Contains("400") &&
                                                    Contains("Unable to process input image") &&
                                                    Contains("33x21 pixels"));
    } else {
      REQUIRE(std::holds_alternative<std::vector<float>>(results[i]));
      CHECK(std::get<std::vector<float>>(results[i]) ==
            FakeProviderServer::VectorFor(images.prepared[i].decoded.encoded, hosted.dimension));
    }
  }
  CHECK(hosted.server.embed_requests() == 6);  // the batch, then each image
  CHECK(hosted.pacer.acquired == 6);           // every request waited its turn
  // A refusal of the request (400) and the answers show the provider up:
  // nothing for the outage breaker.
  CHECK(hosted.pacer.reports == std::vector<std::optional<std::string>>(6));
}

TEST_CASE("a wrong key fails permanently, at once, and the key appears in no message",
          "[provider]") {
  // Given a key the server does not accept (the fake even echoes it back),
  // every item fails permanently with the 401, without an item-by-item
  // retry, and no failure text holds the key.
  const std::string name = GENERATE("gemini", "openai");
  const std::string key = "sk-wrong-key-0123456789abcdef";
  Hosted hosted(name, key);
  const Images images(3);
  for (const EmbedOutcome& result : hosted.provider().Embed(images.pointers())) {
    CHECK_FALSE(FailureOf(result).transient);
    CHECK_THAT(FailureOf(result).message, Contains("401"));
    CHECK_THAT(FailureOf(result).message, !Contains(key) && !Contains("0123456789abcdef"));
  }
  const VisionOutcome vision = hosted.provider().Describe(images.prepared[0]);
  REQUIRE(std::holds_alternative<Failure>(vision));
  CHECK_THAT(std::get<Failure>(vision).message, Contains("401") && !Contains(key));
  CHECK(hosted.server.embed_requests() == 1);
}

TEST_CASE("the key travels in a header, never in the URL", "[provider]") {
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  const Images images(1);
  REQUIRE(
      std::holds_alternative<std::vector<float>>(hosted.provider().Embed(images.pointers())[0]));
  const std::string sent = hosted.server.last_request_text();
  const std::string key =
      name == "gemini" ? FakeProviderServer::kGeminiKey : FakeProviderServer::kOpenAiKey;
  const std::string request_line = sent.substr(0, sent.find('\n'));
  CHECK_THAT(request_line, StartsWith("POST /v1") && !Contains(key));
  CHECK_THAT(
      sent, Contains(name == "gemini" ? "x-goog-api-key: " + key : "authorization: Bearer " + key));
}

TEST_CASE("a closed pacer sends nothing and fails transiently for shutdown", "[provider]") {
  const std::string name = GENERATE("gemini", "openai");
  Hosted hosted(name);
  hosted.pacer.Close();
  const Images images(2);
  for (const EmbedOutcome& result : hosted.provider().Embed(images.pointers())) {
    CHECK(FailureOf(result).transient);
    CHECK_THAT(FailureOf(result).message, Contains("shutting down"));
  }
  CHECK(hosted.server.embed_requests() == 0);
}

}  // namespace
}  // namespace imgbackfill
