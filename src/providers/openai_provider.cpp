// OpenAI and the servers that speak its API (vLLM, Infinity, LocalAI, ...).
//
// Wire format:
//   POST {base}/embeddings
//     {"model":"...","input":["data:image/jpeg;base64,...", ...],
//      "encoding_format":"float","modality":"image"}
//     -> {"object":"list","data":[{"object":"embedding","index":0,"embedding":[...]}, ...]}
//   POST {base}/chat/completions
//     {"model":"...","messages":[{"role":"user","content":[
//        {"type":"text","text":"<prompt>"},
//        {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,..."}}]}],
//      "response_format":{"type":"json_schema","json_schema":{...}}}
//     -> {"choices":[{"message":{"role":"assistant","content":"{...json...}"}}]}
//   errors -> {"error":{"message":"...","type":"...","code":...}}
//
// OpenAI's own /embeddings takes text only; image embeddings come from
// self-hosted servers, which disagree on the shape. We send images as data
// URLs in "input" with "modality":"image", which Infinity reads (without
// the modality it would embed the data URL as text: silently wrong vectors)
// and which servers that ignore unknown fields accept. vLLM's multimodal
// embeddings want chat-style "messages" (one image per request) and Jina's
// API wants [{"image": ...}]: both were considered and not chosen, because
// one batched request per --batch-size images is what the worker is built
// around. Results are matched by "index", not by position.
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

std::string DataUrl(const DecodedImage& image) {
  return "data:" + image.encoded_mime + ";base64," + Base64Encode(image.encoded);
}

class OpenAiProvider : public Provider {
 public:
  OpenAiProvider(const ProviderConfig& config, HttpTransport& http, RequestPacer& pacer)
      : config_(config),
        api_{"openai", &http, &pacer, config.request_timeout, config.api_key},
        base_url_(TrimBaseUrl(config.base_url.empty() ? kOpenAiDefaultBaseUrl : config.base_url)) {}

  std::string name() const override { return "openai"; }
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
      return Failure::Permanent("openai needs the image encoded as " + image.decoded.encoded_mime +
                                "; none was prepared");
    }
    const nlohmann::json content = {
        {{"type", "text"}, {"text", std::string(VisionPrompt())}},
        {{"type", "image_url"}, {"image_url", {{"url", DataUrl(image.decoded)}}}},
    };
    const nlohmann::json body = {
        {"model", config_.vision_model},
        {"messages", {{{"role", "user"}, {"content", content}}}},
        {"response_format", OpenAiVisionResponseFormat()},
    };
    JsonOutcome outcome = PostJson(api_, base_url_ + "/chat/completions", Headers(), body);
    if (auto* failed = std::get_if<ApiFailure>(&outcome)) return failed->failure;
    return DescriptionOf(std::get<nlohmann::json>(outcome));
  }

 private:
  std::vector<std::pair<std::string, std::string>> Headers() const {
    // A self-hosted server may need no key; then no header is sent.
    if (config_.api_key.empty()) return {};
    return {{"Authorization", "Bearer " + config_.api_key}};
  }

  BatchOutcome EmbedBatch(std::span<const PreparedImage* const> batch) {
    nlohmann::json input = nlohmann::json::array();
    for (const PreparedImage* image : batch) input.push_back(DataUrl(image->decoded));
    const nlohmann::json body = {
        {"model", config_.embedding_model},
        {"input", std::move(input)},
        {"encoding_format", "float"},
        {"modality", "image"},
    };
    JsonOutcome outcome = PostJson(api_, base_url_ + "/embeddings", Headers(), body);
    if (auto* failed = std::get_if<ApiFailure>(&outcome)) return *failed;

    const nlohmann::json* data = Field(std::get<nlohmann::json>(outcome), "data");
    if (data == nullptr || !data->is_array()) {
      return ApiFailure{MalformedAnswer(api_, "no \"data\" array")};
    }
    // By index: the API does not promise that data[] is in input order.
    std::vector<const nlohmann::json*> by_index(batch.size(), nullptr);
    for (const nlohmann::json& item : *data) {
      const nlohmann::json* index = Field(item, "index");
      const nlohmann::json* embedding = Field(item, "embedding");
      if (index == nullptr || !index->is_number_integer() || embedding == nullptr) {
        return ApiFailure{MalformedAnswer(api_, "an item of \"data\" lacks index or embedding")};
      }
      const auto at = index->get<long long>();
      if (at < 0 || at >= static_cast<long long>(batch.size())) {
        return ApiFailure{MalformedAnswer(api_, "an embedding index is out of range")};
      }
      if (by_index[at] == nullptr) by_index[at] = embedding;
    }
    std::vector<EmbedOutcome> results;
    results.reserve(batch.size());
    for (const nlohmann::json* embedding : by_index) {
      if (embedding == nullptr) {
        results.push_back(Failure::Transient("openai returned no embedding for this image"));
      } else {
        results.push_back(
            CheckedVector(*embedding, config_.embedding_model, config_.dimension, api_));
      }
    }
    return results;
  }

  VisionOutcome DescriptionOf(const nlohmann::json& answer) const {
    const nlohmann::json* choices = Field(answer, "choices");
    if (choices == nullptr || !choices->is_array() || choices->empty()) {
      return MalformedAnswer(api_, "no choices");
    }
    const nlohmann::json* message = Field((*choices)[0], "message");
    if (message == nullptr) return MalformedAnswer(api_, "the first choice has no message");
    // Structured outputs report a refusal instead of content; asking again
    // about the same image gets the same refusal.
    const std::string refusal = StringField(*message, "refusal");
    if (!refusal.empty()) {
      return Failure::Permanent(
          Redact("openai refused to describe the image: " + Shorten(refusal), api_.secret));
    }
    const std::string content = StringField(*message, "content");
    if (content.empty()) {
      return MalformedAnswer(api_, "the first choice has no content (finish_reason " +
                                       StringField((*choices)[0], "finish_reason") + ")");
    }
    return VisionObject(api_, content);
  }

  ProviderConfig config_;
  ApiClient api_;
  std::string base_url_;
};

}  // namespace

std::unique_ptr<Provider> MakeOpenAiProvider(const ProviderConfig& config, HttpTransport& http,
                                             RequestPacer& pacer) {
  return std::make_unique<OpenAiProvider>(config, http, pacer);
}

}  // namespace imgbackfill
