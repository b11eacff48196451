#include <curl/curl.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

#include "imgbackfill/http.h"

namespace imgbackfill {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kMaxRedirects = 5;
// Idle handles kept for reuse (each holds its own keep-alive connections);
// more than this many concurrent requests simply create and free handles.
constexpr size_t kMaxIdleHandles = 32;

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw HttpError(HttpError::Reason::kOther, "cannot initialise libcurl");
    }
  });
}

struct EasyCleanup {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using EasyPtr = std::unique_ptr<CURL, EasyCleanup>;

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

std::string Seconds(milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

std::string Bytes(size_t bytes) {
  char text[48];
  std::snprintf(text, sizeof text, "%zu bytes (%.1f MiB)", bytes,
                static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// The scheme and host of an absolute URL, lowercased by libcurl; empty when
// the URL does not parse.
std::pair<std::string, std::string> SchemeAndHost(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> handle(curl_url(), &curl_url_cleanup);
  std::pair<std::string, std::string> result;
  if (!handle || curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return result;
  }
  char* part = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_SCHEME, &part, 0) == CURLUE_OK) result.first = part;
  curl_free(part);
  part = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_HOST, &part, 0) == CURLUE_OK) result.second = part;
  curl_free(part);
  return result;
}

std::optional<milliseconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return milliseconds(std::min(seconds, 366LL * 24 * 3600) * 1000);
  }
  if (ec == std::errc::result_out_of_range) return milliseconds(366LL * 24 * 3600 * 1000);
  const time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when == -1) return std::nullopt;
  // An HTTP-date in the past means "now".
  return milliseconds(std::max<long long>(0, static_cast<long long>(when - std::time(nullptr))) *
                      1000);
}

struct Sink {
  std::string body;
  size_t limit = 0;
  bool over_limit = false;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  // Returning short aborts the transfer: a server that sends no
  // Content-Length (or lies) must not make us buffer without bound.
  if (sink->body.size() + bytes > sink->limit) {
    sink->over_limit = true;
    return 0;
  }
  sink->body.append(data, bytes);
  return bytes;
}

[[noreturn]] void ThrowCurlError(CURLcode code, CURL* curl, const std::string& shown,
                                 const Sink& sink, const HttpRequest& request,
                                 milliseconds budget) {
  using Reason = HttpError::Reason;
  if (sink.over_limit || code == CURLE_FILESIZE_EXCEEDED) {
    throw HttpError(Reason::kTooLarge, shown + ": the answer is over the limit of " +
                                           Bytes(request.max_response_bytes) + "; refused");
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connected_us = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected_us);
      if (connected_us == 0) {
        throw HttpError(Reason::kTimeout,
                        shown + ": could not connect within " +
                            Seconds(std::min(budget, request.connect_timeout)) +
                            " (timeout); the server is slow or unreachable, try again later");
      }
      throw HttpError(Reason::kTimeout, shown + ": no complete answer within " +
                                            Seconds(request.timeout) +
                                            " (timeout); the server is slow, try again later");
    }
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      throw HttpError(Reason::kConnection,
                      shown + ": cannot resolve the host name; check the URL and the network");
    case CURLE_COULDNT_CONNECT:
      throw HttpError(Reason::kConnection,
                      shown + ": connection refused or host unreachable; is the server up?");
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      throw HttpError(Reason::kConnection, shown + ": the connection broke before the answer was " +
                                               "complete (" + curl_easy_strerror(code) +
                                               "); try again later");
    case CURLE_URL_MALFORMAT:
      throw HttpError(Reason::kBadUrl, shown + ": not a valid URL; check it");
    case CURLE_UNSUPPORTED_PROTOCOL:
      throw HttpError(
          Reason::kBadUrl,
          shown + ": unsupported scheme; only http:// and https:// URLs can be fetched");
    case CURLE_PEER_FAILED_VERIFICATION:
      throw HttpError(Reason::kOther, shown + ": the server's TLS certificate is not trusted");
    default:
      throw HttpError(Reason::kOther,
                      shown + ": request failed (" + curl_easy_strerror(code) + ")");
  }
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport() { InitCurl(); }

  HttpResponse Send(const HttpRequest& request) override {
    Lease lease(*this);
    const auto deadline = Clock::now() + request.timeout;
    const std::string original = request.display_url.empty() ? request.url : request.display_url;
    const auto [scheme, original_host] = SchemeAndHost(request.url);
    std::string url = request.url;
    std::string method = request.method;
    bool send_body = true;
    bool send_credentials = true;
    for (int hop = 0;; ++hop) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      const std::string shown = hop == 0 ? original : url;
      if (left.count() <= 0) {
        throw HttpError(HttpError::Reason::kTimeout,
                        shown + ": no complete answer within " + Seconds(request.timeout) +
                            " (timeout); the server is slow, try again later");
      }
      HttpResponse response =
          Perform(lease.curl, request, url, method, send_body, send_credentials, shown, left);
      const bool redirect = response.status >= 300 && response.status < 400;
      if (!redirect || request.redirects == RedirectPolicy::kNone) return response;
      char* location = nullptr;
      curl_easy_getinfo(lease.curl, CURLINFO_REDIRECT_URL, &location);
      if (location == nullptr) return response;  // a 304 or a 3xx without Location
      const std::string next = location;
      const auto [next_scheme, next_host] = SchemeAndHost(next);
      if (next_scheme != scheme) {
        throw HttpError(HttpError::Reason::kRedirect,
                        original + " redirected to " + next +
                            ": refused, a redirect may not change the scheme");
      }
      if (hop + 1 > kMaxRedirects) {
        throw HttpError(HttpError::Reason::kRedirect, original + ": more than " +
                                                          std::to_string(kMaxRedirects) +
                                                          " redirects (the last to " + next +
                                                          "): refused; use the image's final URL");
      }
      // As browsers do: 303, and 301/302 after a POST, continue as a GET.
      if (response.status == 303 ||
          ((response.status == 301 || response.status == 302) && method == "POST")) {
        method = "GET";
        send_body = false;
      }
      // Credentials the caller set for one host are not handed to another.
      if (next_host != original_host) send_credentials = false;
      url = next;
    }
  }

  ~CurlTransport() override = default;

 private:
  // A handle taken from the idle pool for one Send, returned afterwards so
  // that its live connections serve the next request to the same host.
  struct Lease {
    explicit Lease(CurlTransport& transport) : owner(transport) {
      std::lock_guard lock(owner.mutex_);
      if (!owner.idle_.empty()) {
        curl = owner.idle_.back().release();
        owner.idle_.pop_back();
      }
      if (curl == nullptr) curl = curl_easy_init();
      if (curl == nullptr)
        throw HttpError(HttpError::Reason::kOther, "cannot create a curl handle");
    }
    ~Lease() {
      curl_easy_reset(curl);  // keeps the connection cache
      std::lock_guard lock(owner.mutex_);
      if (owner.idle_.size() < kMaxIdleHandles) {
        owner.idle_.emplace_back(curl);
      } else {
        curl_easy_cleanup(curl);
      }
    }
    CurlTransport& owner;
    CURL* curl = nullptr;
  };

  HttpResponse Perform(CURL* curl, const HttpRequest& request, const std::string& url,
                       const std::string& method, bool send_body, bool send_credentials,
                       const std::string& shown, milliseconds left);

  std::mutex mutex_;
  std::vector<EasyPtr> idle_;
};

HttpResponse CurlTransport::Perform(CURL* curl, const HttpRequest& request, const std::string& url,
                                    const std::string& method, bool send_body,
                                    bool send_credentials, const std::string& shown,
                                    milliseconds left) {
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // we follow, checking each hop
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);        // timeouts without SIGALRM, thread-safe
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(left, request.connect_timeout).count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.max_response_bytes));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "imgbackfill/" IMGBACKFILL_VERSION);
  // Accept gzip/deflate: the write callback's limit applies to the decoded
  // bytes, so a compressed bomb is still refused.
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");

  Sink sink;
  sink.limit = request.max_response_bytes;
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);

  curl_slist* raw_headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    if (!send_credentials &&
        (curl_strequal(name.c_str(), "authorization") || curl_strequal(name.c_str(), "cookie"))) {
      continue;
    }
    raw_headers = curl_slist_append(raw_headers, (name + ": " + value).c_str());
  }
  // curl otherwise waits up to a second for "100 Continue" before sending a
  // body over 1 MiB; every server we talk to reads bodies directly.
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  std::unique_ptr<curl_slist, SlistFree> headers(raw_headers);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    static const std::string kNoBody;
    const std::string& body = send_body ? request.body : kNoBody;
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) ThrowCurlError(code, curl, shown, sink, request, left);

  HttpResponse response;
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  response.body = std::move(sink.body);
  response.final_url = url;
  char* content_type = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK && content_type) {
    response.content_type = content_type;
  }
  curl_header* retry_after = nullptr;
  if (curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &retry_after) == CURLHE_OK) {
    response.retry_after = ParseRetryAfter(retry_after->value);
  }
  return response;
}

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport() { return std::make_unique<CurlTransport>(); }

}  // namespace imgbackfill
