// The HTTP transport: the one place that speaks HTTP (libcurl), behind an
// interface so that providers and the image loader can be driven against a
// fake server on 127.0.0.1 in tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "imgbackfill/error.h"

namespace imgbackfill {

enum class RedirectPolicy {
  kNone,        // a 3xx is returned as the response (API calls)
  kSameScheme,  // follow up to 5 hops while the scheme stays the same (image URLs)
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{60'000};  // the whole exchange
  size_t max_response_bytes = 64u << 20;
  RedirectPolicy redirects = RedirectPolicy::kNone;
  // Shown in messages instead of the URL when the URL carries a secret
  // (Gemini's ?key=). Empty: the URL is safe to show.
  std::string display_url;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  // Retry-After (delta-seconds or HTTP-date), when the server sent one.
  std::optional<std::chrono::milliseconds> retry_after;
  std::string final_url;  // after redirects
};

// A request that got no HTTP response. Transient: timeout, refused or reset
// connection, DNS failure. Permanent: malformed URL, unsupported scheme,
// response over max_response_bytes, redirect to another scheme or too many.
class HttpError : public Error {
 public:
  enum class Reason { kTimeout, kConnection, kTooLarge, kRedirect, kBadUrl, kOther };
  HttpError(Reason reason, const std::string& message)
      : Error(ErrorKind::kUnavailable, message), reason_(reason) {}
  Reason reason() const { return reason_; }
  bool transient() const { return reason_ == Reason::kTimeout || reason_ == Reason::kConnection; }

 private:
  Reason reason_;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends one request and returns whatever HTTP status came back (4xx and
  // 5xx included). Throws HttpError when no response arrived. Thread-safe:
  // concurrent calls are allowed and reuse connections.
  virtual HttpResponse Send(const HttpRequest& request) = 0;
};

// libcurl, with a pool of easy handles so that keep-alive connections are
// reused across calls and threads.
std::unique_ptr<HttpTransport> MakeCurlTransport();

}  // namespace imgbackfill
