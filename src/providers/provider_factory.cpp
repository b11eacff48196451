// MakeProvider: checks a ProviderConfig against the model registry
// (include/imgbackfill/models.h) and fills in what it leaves out, so that
// every provider starts from a complete, consistent config.
#include <string>

#include "imgbackfill/error.h"
#include "imgbackfill/models.h"
#include "imgbackfill/provider.h"
#include "providers/local_descriptor.h"
#include "providers/providers.h"

namespace imgbackfill {
namespace {

[[noreturn]] void Refuse(const std::string& message) { throw Error(ErrorKind::kConfig, message); }

ProviderConfig Resolved(ProviderConfig config) {
  const std::string& provider = config.provider;
  if (provider != "local" && provider != "gemini" && provider != "openai") {
    Refuse("unknown provider '" + provider + "' (known: local, gemini, openai)");
  }
  if (config.embedding_model.empty()) {
    config.embedding_model = DefaultEmbeddingModelFor(provider);
  }
  if (config.vision_model.empty()) config.vision_model = DefaultVisionModelFor(provider);

  const auto known = FindEmbeddingModel(config.embedding_model);
  if (known && known->provider != provider) {
    Refuse("embedding model " + config.embedding_model + " is served by the " +
           std::string(known->provider) + " provider, not " + provider + ": use --provider " +
           std::string(known->provider));
  }
  if (config.dimension <= 0) {
    // A self-hosted model the registry does not list is fine, but only the
    // config can say how long its vectors are.
    if (!known) {
      Refuse("embedding model " + config.embedding_model +
             " is not in the registry, so its dimension is unknown: set the dimension, or use "
             "one of " +
             KnownEmbeddingModelIds());
    }
    config.dimension = known->dimension;
  }
  if (known && known->dimension != config.dimension) {
    Refuse("embedding model " + config.embedding_model + " has dimension " +
           std::to_string(known->dimension) + ", not " + std::to_string(config.dimension));
  }
  return config;
}

}  // namespace

std::unique_ptr<Provider> MakeProvider(const ProviderConfig& requested, HttpTransport& http,
                                       RequestPacer& pacer) {
  const ProviderConfig config = Resolved(requested);
  if (config.provider == "local") {
    if (config.embedding_model != kLocalDescriptorModel) {
      Refuse("the local provider computes only " + std::string(kLocalDescriptorModel) + ", not " +
             config.embedding_model);
    }
    if (config.vision_model != kLocalVisionModel) {
      Refuse("the local provider describes images only as " + std::string(kLocalVisionModel) +
             ", not " + config.vision_model);
    }
    return MakeLocalProvider();
  }

  if (config.image_max_side <= 0) {
    Refuse("the image size sent to " + config.provider + " must be positive, not " +
           std::to_string(config.image_max_side));
  }
  if (config.provider == "gemini") {
    if (config.api_key.empty())
      Refuse("GEMINI_API_KEY is not set: export it, or use --provider local");
    return MakeGeminiProvider(config, http, pacer);
  }
  // A self-hosted OpenAI-compatible server (a base URL of its own) may need
  // no key; OpenAI's endpoint always does.
  if (config.api_key.empty() && config.base_url.empty()) {
    Refuse("OPENAI_API_KEY is not set: export it, or use --provider local");
  }
  return MakeOpenAiProvider(config, http, pacer);
}

}  // namespace imgbackfill
