#include "imgbackfill/models.h"

namespace imgbackfill {

const std::vector<EmbeddingModel>& EmbeddingModels() {
  // The local descriptor is offline and deterministic; the hosted ones are
  // reached through their providers (see docs/architecture.md).
  static const std::vector<EmbeddingModel> kModels = {
      {"local-descriptor-v1", "local", 256},
      {"gemini-embedding-001", "gemini", 3072},
      {"text-embedding-3-small", "openai", 1536},
  };
  return kModels;
}

std::optional<EmbeddingModel> FindEmbeddingModel(std::string_view id) {
  for (const auto& model : EmbeddingModels()) {
    if (model.id == id) return model;
  }
  return std::nullopt;
}

std::string_view DefaultEmbeddingModel() { return "local-descriptor-v1"; }

std::string KnownEmbeddingModelIds() {
  std::string ids;
  for (const auto& model : EmbeddingModels()) {
    if (!ids.empty()) ids += ", ";
    ids += model.id;
  }
  return ids;
}

}  // namespace imgbackfill
