// The Gemini API (generativelanguage.googleapis.com, v1beta).
//
// Wire format, as Google's REST reference and its curl examples give it:
//   POST {base}/models/{model}:batchEmbedContents
//     {"requests":[{"model":"models/{model}",
//                   "content":{"parts":[{"inline_data":{"mime_type":"image/jpeg",
//                                                       "data":"<base64>"}}]}}, ...]}
//     -> {"embeddings":[{"values":[...]}, ...]}   (same order as the requests)
//   POST {base}/models/{model}:generateContent
//     {"contents":[{"role":"user","parts":[{"inline_data":{...}},{"text":"<prompt>"}]}],
//      "generationConfig":{"responseMimeType":"application/json","responseSchema":{...}}}
//     -> {"candidates":[{"content":{"parts":[{"text":"{...json...}"}]},"finishReason":"STOP"}]}
//   errors -> {"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT"}}
// The API reads protobuf JSON, which accepts both snake_case and lowerCamelCase
// field names; we send inline_data/mime_type as the image-understanding
// guide's examples do, and generationConfig in camelCase as they also do.
// The key travels in the x-goog-api-key header, never in the URL (?key=
// would put it in proxy and server logs).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "providers/base64.h"
#include "providers/http_outcome.h"
#include "providers/providers.h"
#include "providers/vision_request.h"

namespace imgbackfill {
namespace {

nlohmann::json InlineData(const DecodedImage& image) {
  return {
      {"inline_data", {{"mime_type", image.encoded_mime}, {"data", Base64Encode(image.encoded)}}}};
}

// "models/x" and "x" both name model x; the path wants the bare id.
std::string BareModel(const std::string& model) {
  return model.rfind("models/", 0) == 0 ? model.substr(7) : model;
}

class GeminiProvider : public Provider {
 public:
  GeminiProvider(const ProviderConfig& config, HttpTransport& http, RequestPacer& pacer)
      : config_(config),
        api_{"gemini", &http, &pacer, config.request_timeout, config.api_key},
        base_url_(TrimBaseUrl(config.base_url.empty() ? kGeminiDefaultBaseUrl : config.base_url)) {}

  std::string name() const override { return "gemini"; }
  std::string embedding_model() const override { return config_.embedding_model; }
  std::string vision_model() const override { return config_.vision_model; }
  int image_max_side() const override { return config_.image_max_side; }

  std::vector<EmbedOutcome> Embed(std::span<const PreparedImage* const> images) override {
    return EmbedIsolatingRefusals(
        api_, images,
        [this](std::span<const PreparedImage* const> batch) { return EmbedBatch(batch); });
  }

  VisionOutcome Describe(const PreparedImage& image) override {
    if (image.decoded.encoded.empty()) {
      return Failure::Permanent("gemini needs the image encoded as " + image.decoded.encoded_mime +
                                "; none was prepared");
    }
    const std::string model = BareModel(config_.vision_model);
    nlohmann::json body = {
        {"contents",
         {{{"role", "user"},
           {"parts", {InlineData(image.decoded), {{"text", std::string(VisionPrompt())}}}}}}},
        {"generationConfig",
         {{"responseMimeType", "application/json"}, {"responseSchema", GeminiVisionSchema()}}},
    };
    JsonOutcome outcome =
        PostJson(api_, base_url_ + "/models/" + model + ":generateContent", Headers(), body);
    if (auto* failed = std::get_if<ApiFailure>(&outcome)) return failed->failure;
    return DescriptionOf(std::get<nlohmann::json>(outcome));
  }

 private:
  std::vector<std::pair<std::string, std::string>> Headers() const {
    return {{"x-goog-api-key", config_.api_key}};
  }

  BatchOutcome EmbedBatch(std::span<const PreparedImage* const> batch) {
    const std::string model = BareModel(config_.embedding_model);
    nlohmann::json requests = nlohmann::json::array();
    for (const PreparedImage* image : batch) {
      requests.push_back(
          {{"model", "models/" + model}, {"content", {{"parts", {InlineData(image->decoded)}}}}});
    }
    JsonOutcome outcome = PostJson(api_, base_url_ + "/models/" + model + ":batchEmbedContents",
                                   Headers(), {{"requests", std::move(requests)}});
    if (auto* failed = std::get_if<ApiFailure>(&outcome)) return *failed;

    const nlohmann::json* embeddings = Field(std::get<nlohmann::json>(outcome), "embeddings");
    if (embeddings == nullptr || !embeddings->is_array()) {
      return ApiFailure{MalformedAnswer(api_, "no \"embeddings\" array")};
    }
    std::vector<EmbedOutcome> results;
    results.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      // Positional: the answer carries no index. A short list leaves the
      // tail without vectors, which a retry may well fill.
      const nlohmann::json* values =
          i < embeddings->size() ? Field((*embeddings)[i], "values") : nullptr;
      if (values != nullptr) {
        results.push_back(CheckedVector(*values, config_.embedding_model, config_.dimension, api_));
      } else {
        results.push_back(Failure::Transient("gemini returned no embedding for this image"));
      }
    }
    return results;
  }

  VisionOutcome DescriptionOf(const nlohmann::json& answer) const {
    const nlohmann::json* candidates = Field(answer, "candidates");
    if (candidates == nullptr || !candidates->is_array() || candidates->empty()) {
      // A prompt blocked by the safety filters comes back without
      // candidates; the same image would be blocked again.
      const nlohmann::json* feedback = Field(answer, "promptFeedback");
      const std::string blocked = feedback ? StringField(*feedback, "blockReason") : "";
      if (!blocked.empty()) return Failure::Permanent("gemini blocked the image: " + blocked);
      return MalformedAnswer(api_, "no candidates");
    }
    const nlohmann::json& candidate = (*candidates)[0];
    const nlohmann::json* content = Field(candidate, "content");
    const nlohmann::json* parts = content ? Field(*content, "parts") : nullptr;
    std::string text;
    if (parts != nullptr && parts->is_array()) {
      for (const nlohmann::json& part : *parts) {
        // Thinking models add thought parts when asked to; they are not the answer.
        const nlohmann::json* thought = Field(part, "thought");
        if (thought != nullptr && thought->is_boolean() && thought->get<bool>()) continue;
        text += StringField(part, "text");
      }
    }
    if (text.empty()) {
      const std::string reason = StringField(candidate, "finishReason");
      if (reason == "SAFETY" || reason == "PROHIBITED_CONTENT" || reason == "BLOCKLIST" ||
          reason == "SPII" || reason == "IMAGE_SAFETY") {
        return Failure::Permanent("gemini declined to describe the image (finishReason " + reason +
                                  ")");
      }
      return MalformedAnswer(api_, "the first candidate has no text (finishReason " +
                                       (reason.empty() ? std::string("missing") : reason) + ")");
    }
    return VisionObject(api_, text);
  }

  ProviderConfig config_;
  ApiClient api_;
  std::string base_url_;
};

}  // namespace

std::unique_ptr<Provider> MakeGeminiProvider(const ProviderConfig& config, HttpTransport& http,
                                             RequestPacer& pacer) {
  return std::make_unique<GeminiProvider>(config, http, pacer);
}

}  // namespace imgbackfill
