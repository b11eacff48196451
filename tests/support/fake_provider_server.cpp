#include "support/fake_provider_server.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <utility>

#include "providers/base64.h"
#include "support/fake_http_server.h"

namespace imgbackfill::testing {
namespace {

using nlohmann::json;

enum class Api { kGemini, kOpenAi };

// Width and height from a JPEG's start-of-frame or a PNG's IHDR; 0x0 when
// the bytes are neither.
std::pair<int, int> ImageSize(const std::string& bytes) {
  const auto byte = [&](size_t i) { return i < bytes.size() ? static_cast<uint8_t>(bytes[i]) : 0; };
  const auto be16 = [&](size_t i) { return (byte(i) << 8) | byte(i + 1); };
  if (bytes.size() >= 24 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) {
    const auto be32 = [&](size_t i) { return (be16(i) << 16) | be16(i + 2); };
    return {be32(16), be32(20)};
  }
  if (byte(0) != 0xFF || byte(1) != 0xD8) return {0, 0};
  for (size_t at = 2; at + 9 < bytes.size();) {
    if (byte(at) != 0xFF) return {0, 0};
    const int marker = byte(at + 1);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      return {be16(at + 7), be16(at + 5)};
    }
    at += 2 + static_cast<size_t>(be16(at + 2));
  }
  return {0, 0};
}

json GeminiError(int status, const std::string& message) {
  static const std::map<int, const char*> kStatus = {
      {400, "INVALID_ARGUMENT"},   {401, "UNAUTHENTICATED"}, {404, "NOT_FOUND"},
      {429, "RESOURCE_EXHAUSTED"}, {500, "INTERNAL"},        {503, "UNAVAILABLE"}};
  const auto it = kStatus.find(status);
  return {{"error",
           {{"code", status},
            {"message", message},
            {"status", it == kStatus.end() ? "UNKNOWN" : it->second}}}};
}

json OpenAiError(int status, const std::string& message) {
  const char* type = status == 429   ? "requests"
                     : status >= 500 ? "server_error"
                                     : "invalid_request_error";
  return {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}};
}

FakeResponse Refuse(Api api, int status, const std::string& message) {
  const json body =
      api == Api::kGemini ? GeminiError(status, message) : OpenAiError(status, message);
  return FakeResponse::Json(status, body.dump());
}

// A request the fake cannot read: answered 400 like a real provider would.
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string DecodeBase64(const std::string& text, const std::string& where) {
  std::optional<std::string> bytes = Base64Decode(text);
  if (!bytes) throw BadRequest("Invalid base64 data at " + where);
  return *bytes;
}

// "data:image/jpeg;base64,...." -> the bytes.
std::string DecodeDataUrl(const json& url, const std::string& where) {
  if (!url.is_string()) throw BadRequest(where + " is not a string");
  const std::string text = url.get<std::string>();
  const size_t comma = text.find(',');
  if (text.rfind("data:image/", 0) != 0 || comma == std::string::npos ||
      text.compare(comma - 7, 7, ";base64") != 0) {
    throw BadRequest(where + " is not a base64 image data URL");
  }
  return DecodeBase64(text.substr(comma + 1), where);
}

// The image of a Gemini part: {"inline_data":{"mime_type","data"}}; the API
// also takes the camelCase spelling, and so does the fake.
std::optional<std::string> GeminiImage(const json& part, const std::string& where) {
  for (const char* key : {"inline_data", "inlineData"}) {
    if (part.is_object() && part.contains(key) && part[key].is_object() &&
        part[key].contains("data") && part[key]["data"].is_string()) {
      return DecodeBase64(part[key]["data"].get<std::string>(), where);
    }
  }
  return std::nullopt;
}

std::string Description(const std::string& image) {
  const auto [width, height] = ImageSize(image);
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  return json{{"caption", "a test image of " + size + " pixels"}, {"tags", {"test", size}}}.dump();
}

}  // namespace

struct FakeProviderServer::Impl {
  mutable std::mutex mutex;
  std::chrono::milliseconds latency{0};
  int dimension = 8;
  int fail_count = 0;
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
    if (fail_count > 0) {
      --fail_count;
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
