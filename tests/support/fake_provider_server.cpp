#include "support/fake_provider_server.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "support/fake_http_server.h"
#include "support/fake_provider_wire.h"

namespace imgbackfill::testing {
namespace {

using fake_wire::Api;
using fake_wire::BadRequest;
using fake_wire::DecodeDataUrl;
using fake_wire::Description;
using fake_wire::GeminiImage;
using fake_wire::ImageSize;
using fake_wire::Refuse;
using nlohmann::json;

}  // namespace

struct FakeProviderServer::Impl {
  mutable std::mutex mutex;
  std::chrono::milliseconds latency{0};
  int dimension = 8;
  int fail_count = 0;
  std::chrono::steady_clock::time_point fail_until;
  int failed_requests = 0;
  int fail_status = 0;
  std::optional<int> fail_retry_after;
  int malform_count = 0;
  std::optional<std::pair<int, int>> rejected_size;
  int embed_requests = 0;
  int vision_requests = 0;
  std::vector<int> embed_batch_sizes;
  std::string request_text;
  // Last: destroyed first, so that no handler runs on a half-destroyed Impl.
  std::unique_ptr<FakeHttpServer> server;

  FakeResponse Handle(const FakeRequest& request);
  FakeResponse Answer(Api api, bool embed, const std::string& model, const FakeRequest& request);
  FakeResponse GeminiEmbed(const std::string& model, const json& body, int dim);
  FakeResponse GeminiGenerate(const json& body);
  FakeResponse OpenAiEmbed(const json& body, int dim);
  FakeResponse OpenAiChat(const json& body);
  void CheckImage(const std::string& image, const std::string& where);
};

FakeResponse FakeProviderServer::Impl::Handle(const FakeRequest& request) {
  FakeResponse response;
  const std::string& path = request.path;
  static const std::string kGeminiPrefix = "/v1beta/models/";
  const auto ends_with = [&](const std::string& suffix) {
    return path.size() > suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (path.rfind(kGeminiPrefix, 0) == 0 && ends_with(":batchEmbedContents")) {
    const std::string model =
        path.substr(kGeminiPrefix.size(), path.find(':') - kGeminiPrefix.size());
    response = Answer(Api::kGemini, true, model, request);
  } else if (path.rfind(kGeminiPrefix, 0) == 0 && ends_with(":generateContent")) {
    response = Answer(Api::kGemini, false, "", request);
  } else if (path == "/v1/embeddings") {
    response = Answer(Api::kOpenAi, true, "", request);
  } else if (path == "/v1/chat/completions") {
    response = Answer(Api::kOpenAi, false, "", request);
  } else {
    response = FakeResponse::Json(404, R"({"error":{"message":"no such route"}})");
  }
  std::lock_guard lock(mutex);
  response.delay = latency;
  return response;
}

FakeResponse FakeProviderServer::Impl::Answer(Api api, bool embed, const std::string& model,
                                              const FakeRequest& request) {
  int dim = 0;
  {
    std::lock_guard lock(mutex);
    ++(embed ? embed_requests : vision_requests);
    request_text += request.method + " " + request.target + "\n";
    for (const auto& [name, value] : request.headers) request_text += name + ": " + value + "\n";
    request_text += request.body + "\n";
    dim = dimension;
  }
  if (request.method != "POST") return Refuse(api, 405, "Method not allowed");

  // Authentication comes first, as on the real services.
  if (api == Api::kGemini) {
    const auto key = request.headers.find("x-goog-api-key");
    if (key == request.headers.end() || key->second != kGeminiKey) {
      return Refuse(api, 401, "API key not valid. Please pass a valid API key.");
    }
  } else {
    const auto key = request.headers.find("authorization");
    if (key == request.headers.end() || key->second != std::string("Bearer ") + kOpenAiKey) {
      // OpenAI echoes a masked key; the fake echoes it whole, the worst case
      // a client must keep out of its messages.
      std::string sent = key == request.headers.end() ? "" : key->second;
      if (sent.rfind("Bearer ", 0) == 0) sent.erase(0, 7);
      return Refuse(api, 401, "Incorrect API key provided: " + sent + ".");
    }
  }
  {
    std::lock_guard lock(mutex);
    if (fail_count > 0 || std::chrono::steady_clock::now() < fail_until) {
      if (fail_count > 0) --fail_count;
      ++failed_requests;
      FakeResponse failure =
          Refuse(api, fail_status, "Injected failure " + std::to_string(fail_status));
      if (fail_retry_after)
        failure.headers.emplace_back("Retry-After", std::to_string(*fail_retry_after));
      return failure;
    }
    if (malform_count > 0) {
      --malform_count;
      return FakeResponse::Json(200, R"({"embeddings": [{"values": [0.1, )");
    }
  }
  const json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) return Refuse(api, 400, "Invalid JSON payload received.");
  try {
    if (api == Api::kGemini) return embed ? GeminiEmbed(model, body, dim) : GeminiGenerate(body);
    return embed ? OpenAiEmbed(body, dim) : OpenAiChat(body);
  } catch (const BadRequest& e) {
    return Refuse(api, 400, e.what());
  } catch (const json::exception& e) {
    return Refuse(api, 400, std::string("Invalid request: ") + e.what());
  }
}

void FakeProviderServer::Impl::CheckImage(const std::string& image, const std::string& where) {
  const std::pair<int, int> size = ImageSize(image);
  if (size.first == 0) throw BadRequest("Unsupported image at " + where);
  std::lock_guard lock(mutex);
  if (rejected_size && *rejected_size == size) {
    throw BadRequest("Unable to process input image at " + where + " (" +
                     std::to_string(size.first) + "x" + std::to_string(size.second) + " pixels)");
  }
}

FakeResponse FakeProviderServer::Impl::GeminiEmbed(const std::string& model, const json& body,
                                                   int dim) {
  const json& requests = body.at("requests");
  if (!requests.is_array() || requests.empty()) throw BadRequest("requests must not be empty");
  json embeddings = json::array();
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::string where = "requests[" + std::to_string(i) + "]";
    if (requests[i].at("model") != "models/" + model) {
      throw BadRequest(where + ".model must be models/" + model);
    }
    const json& parts = requests[i].at("content").at("parts");
    std::optional<std::string> image = parts.empty() ? std::nullopt : GeminiImage(parts[0], where);
    if (!image) throw BadRequest(where + " has no inline image");
    CheckImage(*image, where);
    embeddings.push_back({{"values", VectorFor(*image, dim)}});
  }
  std::lock_guard lock(mutex);
  embed_batch_sizes.push_back(static_cast<int>(requests.size()));
  return FakeResponse::Json(200, json{{"embeddings", embeddings}}.dump());
}

FakeResponse FakeProviderServer::Impl::GeminiGenerate(const json& body) {
  std::optional<std::string> image;
  for (const json& part : body.at("contents").at(0).at("parts")) {
    if (!image) image = GeminiImage(part, "contents[0].parts");
  }
  if (!image) throw BadRequest("contents[0].parts has no inline image");
  CheckImage(*image, "contents[0].parts");
  const json answer = {
      {"candidates",
       {{{"content", {{"parts", {{{"text", Description(*image)}}}}, {"role", "model"}}},
         {"finishReason", "STOP"},
         {"index", 0}}}},
      {"usageMetadata", {{"promptTokenCount", 300}, {"candidatesTokenCount", 20}}},
      {"modelVersion", body.value("model", "fake")},
  };
  return FakeResponse::Json(200, answer.dump());
}

FakeResponse FakeProviderServer::Impl::OpenAiEmbed(const json& body, int dim) {
  json inputs = body.at("input");
  if (inputs.is_string()) inputs = json::array({inputs});
  if (!inputs.is_array() || inputs.empty()) throw BadRequest("input must not be empty");
  json data = json::array();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string where = "input[" + std::to_string(i) + "]";
    const std::string image = DecodeDataUrl(inputs[i], where);
    CheckImage(image, where);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", VectorFor(image, dim)}});
  }
  // Reversed on purpose: clients must match results by index.
  std::reverse(data.begin(), data.end());
  std::lock_guard lock(mutex);
  embed_batch_sizes.push_back(static_cast<int>(inputs.size()));
  const json answer = {
      {"object", "list"},
      {"data", data},
      {"model", body.value("model", "")},
      {"usage", {{"prompt_tokens", inputs.size()}, {"total_tokens", inputs.size()}}}};
  return FakeResponse::Json(200, answer.dump());
}

FakeResponse FakeProviderServer::Impl::OpenAiChat(const json& body) {
  std::optional<std::string> image;
  for (const json& part : body.at("messages").at(0).at("content")) {
    if (part.value("type", "") == "image_url") {
      image = DecodeDataUrl(part.at("image_url").at("url"), "messages[0].content");
    }
  }
  if (!image) throw BadRequest("messages[0].content has no image_url");
  CheckImage(*image, "messages[0].content");
  const json answer = {
      {"id", "chatcmpl-fake"},
      {"object", "chat.completion"},
      {"model", body.value("model", "")},
      {"choices",
       {{{"index", 0},
         {"message",
          {{"role", "assistant"}, {"content", Description(*image)}, {"refusal", nullptr}}},
         {"finish_reason", "stop"}}}},
      {"usage", {{"prompt_tokens", 300}, {"completion_tokens", 20}, {"total_tokens", 320}}},
  };
  return FakeResponse::Json(200, answer.dump());
}

FakeProviderServer::FakeProviderServer() : impl_(std::make_unique<Impl>()) {
  Impl* impl = impl_.get();
  impl_->server =
      std::make_unique<FakeHttpServer>([impl](const FakeRequest& r) { return impl->Handle(r); });
}

FakeProviderServer::~FakeProviderServer() = default;

std::string FakeProviderServer::gemini_base_url() const {
  return impl_->server->base_url() + "/v1beta";
}
std::string FakeProviderServer::openai_base_url() const {
  return impl_->server->base_url() + "/v1";
}

void FakeProviderServer::SetLatency(std::chrono::milliseconds latency) {
  std::lock_guard lock(impl_->mutex);
  impl_->latency = latency;
}

void FakeProviderServer::SetDimension(int dimension) {
  std::lock_guard lock(impl_->mutex);
  impl_->dimension = dimension;
}

void FakeProviderServer::FailNext(int count, int status, std::optional<int> retry_after_seconds) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_count = count;
  impl_->fail_status = status;
  impl_->fail_retry_after = retry_after_seconds;
}

void FakeProviderServer::FailFor(std::chrono::milliseconds duration, int status) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_until = std::chrono::steady_clock::now() + duration;
  impl_->fail_status = status;
  impl_->fail_retry_after.reset();
}

int FakeProviderServer::failed_requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->failed_requests;
}

void FakeProviderServer::MalformNext(int count) {
  std::lock_guard lock(impl_->mutex);
  impl_->malform_count = count;
}

void FakeProviderServer::RejectImagesOfSize(int width, int height) {
  std::lock_guard lock(impl_->mutex);
  impl_->rejected_size = std::make_pair(width, height);
}

int FakeProviderServer::embed_requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->embed_requests;
}

int FakeProviderServer::vision_requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->vision_requests;
}

std::vector<int> FakeProviderServer::embed_batch_sizes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->embed_batch_sizes;
}

std::string FakeProviderServer::last_request_text() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->request_text;
}

std::vector<float> FakeProviderServer::VectorFor(const std::string& image_bytes, int dimension) {
  uint64_t state = 0xcbf29ce484222325ull;  // FNV-1a 64 of the bytes seeds the sequence
  for (char c : image_bytes) {
    state ^= static_cast<uint8_t>(c);
    state *= 0x100000001b3ull;
  }
  std::vector<float> vector(static_cast<size_t>(dimension));
  double sum = 0;
  for (float& value : vector) {
    // splitmix64: a fixed, portable sequence (std::uniform_real_distribution
    // is not the same across standard libraries).
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    value = static_cast<float>(static_cast<double>(z >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    sum += static_cast<double>(value) * value;
  }
  const double norm = std::sqrt(sum);
  if (norm > 0) {
    for (float& value : vector) value = static_cast<float>(value / norm);
  }
  return vector;
}

}  // namespace imgbackfill::testing
