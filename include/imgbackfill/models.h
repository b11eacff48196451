// The registry of embedding model ids: the one place in the code that says
// which models exist, which provider serves each, and its vector dimension.
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

}  // namespace imgbackfill
