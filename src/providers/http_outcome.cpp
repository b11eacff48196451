#include "providers/http_outcome.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace imgbackfill {
namespace {

std::string CutUtf8(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text + "...";
}

std::string CollapseWhitespace(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string Shorten(std::string_view text, size_t max_bytes) {
  return CutUtf8(CollapseWhitespace(text), max_bytes);
}

namespace {

// The status word a provider puts next to its message: Gemini's
// "INVALID_ARGUMENT", OpenAI's "invalid_request_error".
std::string ProviderErrorStatus(std::string_view body) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("error") || !parsed["error"].is_object()) return {};
  const nlohmann::json& error = parsed["error"];
  for (const char* key : {"status", "type", "code"}) {
    if (error.contains(key) && error[key].is_string()) return error[key].get<std::string>();
  }
  return {};
}

// Gemini answers a wrong key with 400 INVALID_ARGUMENT, as it answers a bad
// image, and tells them apart only in google.rpc.ErrorInfo's reason.
bool IsKeyProblem(std::string_view body) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  const nlohmann::json* error = Field(parsed, "error");
  const nlohmann::json* details = error ? Field(*error, "details") : nullptr;
  if (details == nullptr || !details->is_array()) return false;
  for (const nlohmann::json& detail : *details) {
    if (StringField(detail, "reason").rfind("API_KEY", 0) == 0) return true;
  }
  return false;
}

ApiFailure StatusFailure(const ApiClient& api, const HttpResponse& response) {
  // Redacted before anything is cut, so that no part of an echoed key
  // survives a cut through it.
  const std::string body = Redact(response.body, api.secret);
  const std::string status = ProviderErrorStatus(body);
  std::string message = api.provider + " answered HTTP " + std::to_string(response.status);
  if (!status.empty()) message += " " + Shorten(status, 60);
  const std::string detail = ProviderErrorMessage(body);
  if (!detail.empty()) message += ": " + detail;

  if (response.status == 429) {
    // Every request of this provider waits, not only this one: the quota is
    // the account's, and the others would only earn 429s of their own.
    if (response.retry_after) api.pacer->PauseFor(*response.retry_after);
    return {Failure::Transient(std::move(message), response.retry_after)};
  }
  if (response.status == 408 || response.status >= 500) {
    return {Failure::Transient(std::move(message), response.retry_after)};
  }
  const int s = response.status;
  const bool item_specific = (s == 400 || s == 413 || s == 415 || s == 422) && !IsKeyProblem(body);
  return {Failure::Permanent(std::move(message)), item_specific};
}

}  // namespace

std::string Redact(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  static constexpr std::string_view kMark = "[redacted]";
  for (size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + kMark.size())) {
    text.replace(at, secret.size(), kMark);
  }
  return text;
}

std::string ProviderErrorMessage(std::string_view body, size_t max_bytes) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  std::string message;
  if (parsed.is_object()) {
    // {"error":{"message":...}} (Gemini, OpenAI), {"error":"..."},
    // {"message":...} (older vLLM), {"detail":...} (FastAPI servers).
    const nlohmann::json* found = nullptr;
    if (parsed.contains("error")) {
      const nlohmann::json& error = parsed["error"];
      found = error.is_object() && error.contains("message") ? &error["message"] : &error;
    } else if (parsed.contains("message")) {
      found = &parsed["message"];
    } else if (parsed.contains("detail")) {
      found = &parsed["detail"];
    }
    if (found != nullptr) {
      message = found->is_string()
                    ? found->get<std::string>()
                    : found->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  } else if (parsed.is_discarded()) {
    message.assign(body);  // an HTML page from a proxy, plain text
  }
  return Shorten(message, max_bytes);
}

Failure MalformedAnswer(const ApiClient& api, std::string_view what) {
  return Failure::Transient(
      Redact("malformed answer from " + api.provider + ": " + std::string(what), api.secret));
}

namespace {

// One request the pacer let go, and what its answer means.
JsonOutcome SendJson(const ApiClient& api, const std::string& url,
                     std::vector<std::pair<std::string, std::string>> headers,
                     const nlohmann::json& body) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = std::move(headers);
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.timeout = api.timeout;
  request.connect_timeout = std::min(request.connect_timeout, api.timeout);

  HttpResponse response;
  try {
    response = api.http->Send(request);
  } catch (const HttpError& e) {
    std::string message = Redact(api.provider + ": " + e.what(), api.secret);
    return ApiFailure{e.transient() ? Failure::Transient(std::move(message))
                                    : Failure::Permanent(std::move(message))};
  }
  if (response.status < 200 || response.status > 299) return StatusFailure(api, response);

  nlohmann::json parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_discarded()) {
    return ApiFailure{MalformedAnswer(
        api, "the body is not JSON (" + Shorten(Redact(response.body, api.secret), 80) + ")")};
  }
  if (!parsed.is_object()) return ApiFailure{MalformedAnswer(api, "the body is not a JSON object")};
  return parsed;
}

}  // namespace

JsonOutcome PostJson(const ApiClient& api, const std::string& url,
                     std::vector<std::pair<std::string, std::string>> headers,
                     const nlohmann::json& body) {
  if (!api.pacer->Acquire()) {
    return ApiFailure{Failure::Transient(api.provider + ": shutting down")};
  }
  JsonOutcome outcome;
  try {
    outcome = SendJson(api, url, std::move(headers), body);
  } catch (const std::exception& e) {
    api.pacer->Report(api.provider + ": " + e.what());
    throw;
  }
  // Transient failures are the provider's (down, overloaded, out of quota):
  // the pacer's outage breaker counts them. A permanent one is about this
  // request, and shows the provider answering.
  const auto* failed = std::get_if<ApiFailure>(&outcome);
  api.pacer->Report(failed != nullptr && failed->failure.transient
                        ? std::optional<std::string>(failed->failure.message)
                        : std::nullopt);
  return outcome;
}

namespace {

std::vector<EmbedOutcome> SendIsolating(std::span<const PreparedImage* const> images,
                                        const SendBatch& send) {
  BatchOutcome whole = send(images);
  if (auto* outcomes = std::get_if<std::vector<EmbedOutcome>>(&whole)) return std::move(*outcomes);

  const ApiFailure& refused = std::get<ApiFailure>(whole);
  if (refused.failure.transient || !refused.item_specific || images.size() <= 1) {
    return std::vector<EmbedOutcome>(images.size(), refused.failure);
  }
  std::vector<EmbedOutcome> results;
  results.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    BatchOutcome single = send(images.subspan(i, 1));
    if (auto* outcomes = std::get_if<std::vector<EmbedOutcome>>(&single)) {
      results.push_back(std::move(outcomes->at(0)));
    } else {
      results.push_back(std::get<ApiFailure>(single).failure);
    }
  }
  return results;
}

}  // namespace

std::vector<EmbedOutcome> EmbedIsolatingRefusals(const ApiClient& api,
                                                 std::span<const PreparedImage* const> images,
                                                 const SendBatch& send) {
  std::vector<EmbedOutcome> results(images.size());
  std::vector<const PreparedImage*> ready;
  std::vector<size_t> positions;
  for (size_t i = 0; i < images.size(); ++i) {
    if (images[i]->decoded.encoded.empty()) {
      results[i] = Failure::Permanent(api.provider + " needs the image encoded as " +
                                      images[i]->decoded.encoded_mime + "; none was prepared");
    } else {
      ready.push_back(images[i]);
      positions.push_back(i);
    }
  }
  if (ready.empty()) return results;
  std::vector<EmbedOutcome> sent = SendIsolating(ready, send);
  for (size_t k = 0; k < positions.size(); ++k) results[positions[k]] = std::move(sent.at(k));
  return results;
}

EmbedOutcome CheckedVector(const nlohmann::json& values, std::string_view model, int dimension,
                           const ApiClient& api) {
  if (!values.is_array()) return MalformedAnswer(api, "an embedding is not an array");
  std::vector<float> vector;
  vector.reserve(values.size());
  for (const nlohmann::json& value : values) {
    if (!value.is_number()) return MalformedAnswer(api, "an embedding holds a non-number");
    vector.push_back(value.get<float>());
  }
  if (static_cast<int>(vector.size()) != dimension) {
    return Failure::Permanent(std::string(model) + " returned " + std::to_string(vector.size()) +
                              " values, expected " + std::to_string(dimension));
  }
  return vector;
}

VisionOutcome VisionObject(const ApiClient& api, const std::string& text) {
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_object()) return MalformedAnswer(api, "the description is not a JSON object");
  return parsed.dump();
}

const nlohmann::json* Field(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringField(const nlohmann::json& object, const char* key) {
  const nlohmann::json* field = Field(object, key);
  return field != nullptr && field->is_string() ? field->get<std::string>() : std::string();
}

std::string TrimBaseUrl(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  return base_url;
}

}  // namespace imgbackfill
