// MakeProvider: what a wrong provider configuration tells the user, and the
// defaults it takes from the model registry.
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "imgbackfill/error.h"
#include "imgbackfill/models.h"
#include "imgbackfill/provider.h"

namespace imgbackfill {
namespace {

using Catch::Matchers::Contains;

// MakeProvider never sends anything, so no transport is reached.
class UnusedTransport : public HttpTransport {
 public:
  HttpResponse Send(const HttpRequest&) override { throw std::logic_error("no request expected"); }
};

struct Factory {
  UnusedTransport http;
  std::unique_ptr<RequestPacer> pacer = MakeRequestPacer(0);

  std::unique_ptr<Provider> Make(const ProviderConfig& config) {
    return MakeProvider(config, http, *pacer);
  }
  // The message of the Error(kConfig) that `config` gets.
  std::string Refusal(const ProviderConfig& config) {
    try {
      Make(config);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::kConfig);
      return e.what();
    }
    FAIL("the configuration was accepted");
    return "";
  }
};

TEST_CASE("an unknown provider is a configuration error that lists the known ones", "[provider]") {
  Factory factory;
  ProviderConfig config;
  config.provider = "anthropic";
  CHECK_THAT(factory.Refusal(config),
             Contains("anthropic") && Contains("(known: local, gemini, openai)"));
}

TEST_CASE("a hosted provider without a key says which variable to export", "[provider]") {
  // Given gemini, or openai at its public endpoint, and no key, the error
  // names the environment variable and the offline alternative.
  Factory factory;
  ProviderConfig gemini;
  gemini.provider = "gemini";
  CHECK(factory.Refusal(gemini) == "GEMINI_API_KEY is not set: export it, or use --provider local");
  ProviderConfig openai;
  openai.provider = "openai";
  CHECK(factory.Refusal(openai) == "OPENAI_API_KEY is not set: export it, or use --provider local");
  // A self-hosted OpenAI-compatible server may run without a key.
  openai.base_url = "http://127.0.0.1:1/v1";
  CHECK(factory.Make(openai)->name() == "openai");
}

TEST_CASE("models left unset come from the registry, one default per provider", "[provider]") {
  Factory factory;
  ProviderConfig config;
  const auto local = factory.Make(config);
  CHECK(local->embedding_model() == "local-descriptor-v1");
  CHECK(local->vision_model() == "local-vision-v1");
  CHECK(local->image_max_side() == 0);

  config.provider = "gemini";
  config.api_key = "k";
  const auto gemini = factory.Make(config);
  CHECK(gemini->embedding_model() == DefaultEmbeddingModelFor("gemini"));
  CHECK(gemini->vision_model() == "gemini-2.5-flash");
  CHECK(gemini->image_max_side() == 1024);

  config.provider = "openai";
  const auto openai = factory.Make(config);
  CHECK(openai->embedding_model() == DefaultEmbeddingModelFor("openai"));
  CHECK(openai->vision_model() == "gpt-4o-mini");
}

TEST_CASE("a model of another provider, or of another dimension, is refused", "[provider]") {
  Factory factory;
  ProviderConfig config;
  config.provider = "gemini";
  config.api_key = "k";
  config.embedding_model = "local-descriptor-v1";
  CHECK_THAT(factory.Refusal(config), Contains("served by the local provider, not gemini"));

  config.embedding_model = "gemini-embedding-001";
  config.dimension = 768;
  CHECK_THAT(factory.Refusal(config), Contains("has dimension 3072, not 768"));

  // A model the registry does not list needs its dimension.
  config.embedding_model = "my-own-clip";
  config.dimension = 0;
  CHECK_THAT(factory.Refusal(config), Contains("my-own-clip") && Contains("dimension is unknown"));
  config.dimension = 512;
  CHECK(factory.Make(config)->embedding_model() == "my-own-clip");
}

}  // namespace
}  // namespace imgbackfill
