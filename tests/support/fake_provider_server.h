// A fake model provider on 127.0.0.1 that speaks the Gemini
// (models/{model}:batchEmbedContents, models/{model}:generateContent) and
// OpenAI-compatible (/v1/embeddings, /v1/chat/completions) wire formats, for
// driving the real HTTP clients. Answers are deterministic: a vector is
// derived from the image bytes it was sent. Faults are set by the test.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace imgbackfill::testing {

class FakeProviderServer {
 public:
  FakeProviderServer();
  ~FakeProviderServer();

  // Base URLs to give the providers (--gemini-base-url, --openai-base-url).
  std::string gemini_base_url() const;  // http://127.0.0.1:PORT/v1beta
  std::string openai_base_url() const;  // http://127.0.0.1:PORT/v1
  // The keys requests must carry (x-goog-api-key / Authorization: Bearer);
  // anything else is answered 401.
  static constexpr const char* kGeminiKey = "test-gemini-key-3f9a";
  static constexpr const char* kOpenAiKey = "test-openai-key-77c1";

  // ---- Behaviour (thread-safe; applies to requests that arrive after) ----
  // Every answer waits this long first.
  void SetLatency(std::chrono::milliseconds latency);
  // Length of the vectors returned (default 8).
  void SetDimension(int dimension);
  // The next `count` API requests are answered `status` (e.g. 429 or 500),
  // with Retry-After: retry_after_seconds when given.
  void FailNext(int count, int status, std::optional<int> retry_after_seconds = std::nullopt);
  // Every API request arriving within `duration` from now is answered
  // `status` (an outage).
  void FailFor(std::chrono::milliseconds duration, int status);
  // The next `count` API requests get 200 with a body that is not JSON.
  void MalformNext(int count);
  // Any request that contains an image of exactly this size (read from its
  // JPEG/PNG header) is refused with 400 and a provider-style error naming
  // it, as a real provider refuses a whole batch for one bad item.
  void RejectImagesOfSize(int width, int height);

  // ---- What it saw -------------------------------------------------------
  int embed_requests() const;   // batchEmbedContents + /v1/embeddings, any answer
  int vision_requests() const;  // generateContent + /v1/chat/completions, any answer
  int failed_requests() const;  // answered with an injected failure (FailNext, FailFor)
  // Number of images in each embedding request answered 200, in arrival order.
  std::vector<int> embed_batch_sizes() const;
  // Every request's headers and body concatenated, for "the key never
  // leaks" style checks on what was sent.
  std::string last_request_text() const;

  // The vector the fake returns for these image bytes (decoded from the
  // request), so tests can check what was stored.
  static std::vector<float> VectorFor(const std::string& image_bytes, int dimension);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgbackfill::testing
