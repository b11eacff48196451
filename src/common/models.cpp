#include "imgbackfill/models.h"

namespace imgbackfill {

const std::vector<EmbeddingModel>& EmbeddingModels() {
  // The local descriptor is offline and deterministic; the hosted ones are
  // reached through their providers (see docs/architecture.md).
  static const std::vector<EmbeddingModel> kModels = {
      {"local-descriptor-v1", "local", 256},
      {"gemini-embedding-001", "gemini", 3072},
      // Google's natively multimodal embedding model (001 is mainly for text).
      {"gemini-embedding-2", "gemini", 3072},
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

std::string_view DefaultEmbeddingModelFor(std::string_view provider) {
  for (const auto& model : EmbeddingModels()) {
    if (model.provider == provider) return model.id;
  }
  return {};
}

std::string_view DefaultVisionModelFor(std::string_view provider) {
  // Each is the provider's inexpensive model that accepts images and a JSON
  // response schema; local-vision-v1 is the offline description (size,
  // orientation, colours, brightness) and makes no semantic claims.
  if (provider == "local") return "local-vision-v1";
  if (provider == "gemini") return "gemini-2.5-flash";
  if (provider == "openai") return "gpt-4o-mini";
  return {};
}

}  // namespace imgbackfill
