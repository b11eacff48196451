// What the hosted providers (gemini, openai) share: one paced JSON request
// and the mapping of its outcome to a value or a Failure, per-item isolation
// of a refused batch, and the checks on what came back.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "imgbackfill/failure.h"
#include "imgbackfill/http.h"
#include "imgbackfill/provider.h"

namespace imgbackfill {

// One provider's endpoint as every request to it needs it.
struct ApiClient {
  std::string provider;  // "gemini", "openai": the name messages start with
  HttpTransport* http = nullptr;
  RequestPacer* pacer = nullptr;
  std::chrono::milliseconds timeout{60'000};
  // The API key. It is sent only in the headers the provider gives; every
  // message built here has it replaced by "[redacted]", should a server or
  // proxy echo it back.
  std::string secret;
};

// A request's failure, and whether it may concern a single item of the
// request (400, 413, 415, 422: a bad image, a body too large) rather than
// the whole account or endpoint (401, 403, 404: a wrong key or model, which
// retrying item by item would only repeat once per item).
struct ApiFailure {
  Failure failure;
  bool item_specific = false;
};

using JsonOutcome = std::variant<nlohmann::json, ApiFailure>;

// Waits for the pacer, POSTs `body` as JSON to `url` with `headers`, and maps
// what happened:
//   pacer closed                 -> transient "gemini: shutting down" (not sent)
//   no response (HttpError)      -> transient or permanent as HttpError says
//   2xx with a JSON object       -> that object
//   2xx with anything else       -> transient "malformed answer from gemini: ..."
//   429                          -> transient with the Retry-After, and the
//                                   pacer holds every request back that long
//   408, 5xx                     -> transient
//   other statuses (4xx, 3xx)    -> permanent
// A failure names the provider, the HTTP status and the provider's own error
// message (from {"error":{"message"}} and the like, at most ~300 bytes).
JsonOutcome PostJson(const ApiClient& api, const std::string& url,
                     std::vector<std::pair<std::string, std::string>> headers,
                     const nlohmann::json& body);

// Transient "malformed answer from <provider>: <what>". A 200 whose body
// does not parse, or lacks a field, is more likely a proxy's or a load
// balancer's hiccup than a lasting condition, and a retry costs one request
// out of a bounded number of attempts; calling it permanent would kill jobs
// for a moment's fault.
Failure MalformedAnswer(const ApiClient& api, std::string_view what);

// The provider's error message from an error body, whitespace collapsed,
// cut at about `max_bytes` on a UTF-8 boundary; the raw text when the body
// is not JSON. Exposed for tests.
std::string ProviderErrorMessage(std::string_view body, size_t max_bytes = 300);

// `text` on one line (whitespace runs and control characters become one
// space), cut at about `max_bytes` on a UTF-8 boundary: a torn character
// would be an encoding error in the database and in JSON logs.
std::string Shorten(std::string_view text, size_t max_bytes = 300);

// `text` with every occurrence of `secret` replaced by "[redacted]".
std::string Redact(std::string text, std::string_view secret);

// `send` must return one outcome per image it was given.
using BatchOutcome = std::variant<std::vector<EmbedOutcome>, ApiFailure>;
using SendBatch = std::function<BatchOutcome(std::span<const PreparedImage* const>)>;

// Sends the whole batch through `send`. A whole-batch failure becomes every
// item's failure, except that an item-specific permanent one on a batch of
// several images is retried image by image: providers refuse a whole request
// for one bad item, and that item alone should fail. An image without
// encoded bytes fails permanently without being sent.
std::vector<EmbedOutcome> EmbedIsolatingRefusals(const ApiClient& api,
                                                 std::span<const PreparedImage* const> images,
                                                 const SendBatch& send);

// The vector, or a permanent failure "<model> returned N values, expected D"
// when its length is not `dimension`.
EmbedOutcome CheckedVector(const nlohmann::json& values, std::string_view model, int dimension,
                           const ApiClient& api);

// The model's answer text parsed as a JSON object, compact; a transient
// MalformedAnswer when it is not one.
VisionOutcome VisionObject(const ApiClient& api, const std::string& text);

// object[key] when `object` is a JSON object holding `key`; nullptr
// otherwise. Answers are read through these so that an unexpected shape
// becomes a MalformedAnswer, never a json::type_error.
const nlohmann::json* Field(const nlohmann::json& object, const char* key);
// The string at object[key]; empty when absent or not a string.
std::string StringField(const nlohmann::json& object, const char* key);

// "https://host/v1beta" from "https://host/v1beta/" (a trailing slash would
// double in the joined path).
std::string TrimBaseUrl(std::string base_url);

}  // namespace imgbackfill
