// Model providers: where embeddings and vision descriptions come from.
// `local` computes them offline; `gemini` and `openai` call hosted APIs over
// an HttpTransport. The worker sees only this interface.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "imgbackfill/failure.h"
#include "imgbackfill/http.h"
#include "imgbackfill/image.h"

namespace imgbackfill {

// An image ready for a provider: decoded once by the worker.
struct PreparedImage {
  int64_t image_id = 0;
  std::string location;  // for messages
  DecodedImage decoded;
};

using EmbedOutcome = std::variant<std::vector<float>, Failure>;
using VisionOutcome = std::variant<std::string, Failure>;  // JSON object text

// Paces the HTTP requests of one provider (--rate, requests per minute),
// holds them all back after a 429's Retry-After, and through an outage:
// after `outage_after` requests in a row fail transiently (connection,
// timeout, 429, 5xx), every request waits `outage_pause`, then one request
// alone tries the provider; while it fails the pause doubles (up to
// `outage_max_pause`), and the first answer lets everything go again. So an
// outage costs the attempts of the few jobs whose requests went, not those
// of every job the worker would otherwise have sent into it. Thread-safe.
class RequestPacer {
 public:
  virtual ~RequestPacer() = default;
  // Blocks until the next request may go. Returns false (at once) when the
  // pacer was closed for shutdown: do not send. A request that went must be
  // reported (Report), whatever its outcome.
  virtual bool Acquire() = 0;
  // What became of a request that Acquire let go: answered (any answer that
  // shows the provider up: 2xx, or a 4xx about the request itself), or not
  // (`failure` names why: a transient failure of the provider).
  virtual void Report(std::optional<std::string> failure) = 0;
  // No request goes before `delay` from now (a 429 with Retry-After).
  virtual void PauseFor(std::chrono::milliseconds delay) = 0;
  // The earliest moment Acquire would return at once (now or earlier: at
  // once; time_point::max(): not before a request in flight is reported).
  // Lets a batch wait for its turn while it can still grow.
  virtual std::chrono::steady_clock::time_point NextTurn() = 0;
  virtual void Close() = 0;
};

struct PacerOptions {
  std::string provider;            // for log lines: "gemini"
  double requests_per_minute = 0;  // <= 0: unlimited
  int outage_after = 5;            // transient failures in a row
  std::chrono::milliseconds outage_pause{30'000};
  std::chrono::milliseconds outage_max_pause{600'000};
};
std::unique_ptr<RequestPacer> MakeRequestPacer(const PacerOptions& options);
// requests_per_minute <= 0: unlimited; outage handling as PacerOptions'.
std::unique_ptr<RequestPacer> MakeRequestPacer(double requests_per_minute);

// Fields left empty (or 0) are filled by MakeProvider from the model
// registry (imgbackfill/models.h).
struct ProviderConfig {
  std::string provider = "local";  // local, gemini, openai
  std::string embedding_model;     // e.g. gemini-embedding-001; empty: the provider's default
  // Expected vector length; other lengths are permanent failures. 0: the
  // registry's; required for a model the registry does not list.
  int dimension = 0;
  std::string vision_model;  // e.g. gemini-2.5-flash; empty: the provider's default
  // Empty: the public endpoint (https://generativelanguage.googleapis.com/v1beta,
  // https://api.openai.com/v1).
  std::string base_url;
  // From the environment; never logged or stored. Required for gemini, and
  // for openai at its public endpoint (a self-hosted server may need none).
  std::string api_key;
  std::chrono::milliseconds request_timeout{60'000};
  int image_max_side = 1024;  // images are sent as JPEG at most this large
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string name() const = 0;
  virtual std::string embedding_model() const = 0;
  virtual std::string vision_model() const = 0;
  // 0 for local: the worker then fills DecodedImage::rgb instead.
  virtual int image_max_side() const = 0;

  // Embeds a batch; result i belongs to images[i]. A whole-request failure
  // (429, 5xx, timeout, malformed answer) is that failure for every item; a
  // permanent 4xx on a batch of several is retried item by item so that one
  // bad image fails alone. Vectors of the wrong length are permanent
  // failures of their item. Does not throw for provider problems.
  virtual std::vector<EmbedOutcome> Embed(std::span<const PreparedImage* const> images) = 0;
  // One image's vision description, a JSON object.
  virtual VisionOutcome Describe(const PreparedImage& image) = 0;
};

// Throws Error(kConfig) for an unknown provider, a missing API key, or a
// model that the registry gives to another provider or another dimension.
// `http` and `pacer` must outlive the provider.
std::unique_ptr<Provider> MakeProvider(const ProviderConfig& config, HttpTransport& http,
                                       RequestPacer& pacer);

}  // namespace imgbackfill
