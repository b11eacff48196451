// The registry of model ids: the one place in the code that says which
// embedding models exist, which provider serves each and its vector
// dimension, and which vision model each provider uses by default.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbackfill {

struct EmbeddingModel {
  std::string_view id;        // what images.embedding_model holds
  std::string_view provider;  // local, gemini, openai
  int dimension;
};

const std::vector<EmbeddingModel>& EmbeddingModels();
std::optional<EmbeddingModel> FindEmbeddingModel(std::string_view id);
// The target of `run` when neither --model nor the config file names one.
std::string_view DefaultEmbeddingModel();
// "a, b, c": for error messages.
std::string KnownEmbeddingModelIds();

// The embedding model a provider uses when none is configured: the first
// registry entry it serves. Empty for an unknown provider.
std::string_view DefaultEmbeddingModelFor(std::string_view provider);
// The vision model a provider uses when none is configured (local:
// local-vision-v1, gemini: gemini-2.5-flash, openai: gpt-4o-mini). Empty for
// an unknown provider.
std::string_view DefaultVisionModelFor(std::string_view provider);

}  // namespace imgbackfill
