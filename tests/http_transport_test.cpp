// The libcurl transport against a real HTTP server on 127.0.0.1
// (FakeHttpServer): statuses, limits, redirects, timeouts, keep-alive and
// concurrent use, and the error each failure gives.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <thread>

#include "imgbackfill/http.h"
#include "support/fake_http_server.h"

namespace imgbackfill {
namespace {

using testing::FakeHttpServer;
using testing::FakeRequest;
using testing::FakeResponse;
using namespace std::chrono_literals;

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  return request;
}

// Sends and expects an HttpError; returns it.
HttpError SendExpectingError(HttpTransport& http, const HttpRequest& request) {
  try {
    const HttpResponse response = http.Send(request);
    FAIL("got status " << response.status << " instead of an error");
  } catch (const HttpError& e) {
    return e;
  }
  throw std::logic_error("unreachable");
}

// A port that refuses connections and that nobody else can take while the
// socket is open: bound, never listening.
struct RefusingPort {
  RefusingPort() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port = ntohs(address.sin_port);
  }
  ~RefusingPort() { ::close(fd); }
  int fd = -1;
  int port = 0;
};

TEST_CASE("a 200 answer returns its body and content type", "[http]") {
  // Given a server that answers JSON and echoes a POST body, then the body,
  // status and content type come back, and the request arrived intact.
  FakeHttpServer server([](const FakeRequest& request) {
    return FakeResponse::Json(200, "{\"method\":\"" + request.method + "\",\"body\":\"" +
                                       request.body + "\",\"h\":\"" + request.headers.at("x-test") +
                                       "\"}");
  });
  auto http = MakeCurlTransport();
  HttpRequest request = Get(server.base_url() + "/v1/echo");
  request.method = "POST";
  request.body = "hello";
  request.headers = {{"X-Test", "42"}, {"Content-Type", "text/plain"}};
  const HttpResponse response = http->Send(request);
  CHECK(response.status == 200);
  CHECK(response.content_type == "application/json");
  CHECK(response.body == R"({"method":"POST","body":"hello","h":"42"})");
  CHECK(response.final_url == server.base_url() + "/v1/echo");
  CHECK_FALSE(response.retry_after.has_value());
}

TEST_CASE("a large POST body arrives intact, and a 303 continues as a GET", "[http]") {
  // Given 3 MB of binary body (as a batch of inline images is), then the
  // server reads exactly those bytes; after a 303 the next hop is a GET
  // without the body.
  std::string body(3u << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 7919) % 251);
  FakeHttpServer server([&body](const FakeRequest& request) {
    if (request.path == "/upload") {
      return FakeResponse::Json(200, request.body == body ? "same" : "different");
    }
    if (request.path == "/form") return FakeResponse::Redirect(303, "/done");
    return FakeResponse::Json(200, request.method + " " + std::to_string(request.body.size()));
  });
  auto http = MakeCurlTransport();
  HttpRequest request = Get(server.base_url() + "/upload");
  request.method = "POST";
  request.body = body;
  CHECK(http->Send(request).body == "same");

  request.url = server.base_url() + "/form";
  request.redirects = RedirectPolicy::kSameScheme;
  const HttpResponse response = http->Send(request);
  CHECK(response.body == "GET 0");
  CHECK(response.final_url == server.base_url() + "/done");
}

TEST_CASE("a 404 is returned as a status, not thrown", "[http]") {
  FakeHttpServer server([](const FakeRequest&) { return FakeResponse::Json(404, "{}"); });
  const HttpResponse response = MakeCurlTransport()->Send(Get(server.base_url() + "/missing"));
  CHECK(response.status == 404);
  CHECK(response.body == "{}");
}

TEST_CASE("an answer slower than the timeout is a transient timeout naming the URL", "[http]") {
  // Given a server that waits 30 s (cut short when it is destroyed) and a
  // 300 ms timeout, then Send throws kTimeout.
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse response = FakeResponse::Bytes("late", "text/plain");
    response.delay = 30s;
    return response;
  });
  HttpRequest request = Get(server.base_url() + "/slow.jpg");
  request.timeout = 300ms;
  const HttpError error = SendExpectingError(*MakeCurlTransport(), request);
  CHECK(error.reason() == HttpError::Reason::kTimeout);
  CHECK(error.transient());
  CHECK_THAT(error.what(), Catch::StartsWith(server.base_url() + "/slow.jpg: ") &&
                               Catch::Contains("within 0.3 s (timeout)"));
}

TEST_CASE("a refused connection is a transient connection error", "[http]") {
  RefusingPort refusing;
  const std::string url = "http://127.0.0.1:" + std::to_string(refusing.port) + "/a.jpg";
  const HttpError error = SendExpectingError(*MakeCurlTransport(), Get(url));
  CHECK(error.reason() == HttpError::Reason::kConnection);
  CHECK(error.transient());
  CHECK(std::string(error.what()) ==
        url + ": connection refused or host unreachable; is the server up?");
}

TEST_CASE("display_url replaces a URL that holds a key in every message", "[http]") {
  RefusingPort refusing;
  HttpRequest request =
      Get("http://127.0.0.1:" + std::to_string(refusing.port) + "/v1beta/x?key=SECRET-KEY-123");
  request.display_url = "http://127.0.0.1/v1beta/x";
  const HttpError error = SendExpectingError(*MakeCurlTransport(), request);
  CHECK_THAT(error.what(), Catch::StartsWith("http://127.0.0.1/v1beta/x: ") &&
                               !Catch::Contains("SECRET-KEY-123"));
}

TEST_CASE("a body over max_response_bytes is refused as too large", "[http]") {
  // Given 2000 bytes, announced by Content-Length or sent chunked (no
  // length known in advance), and a limit of 1000: kTooLarge, permanent.
  FakeHttpServer server([](const FakeRequest& request) {
    const std::string body(2000, 'x');
    if (request.path == "/length") return FakeResponse::Bytes(body, "image/jpeg");
    FakeResponse chunked = FakeResponse::Bytes("", "image/jpeg");
    chunked.headers.emplace_back("Transfer-Encoding", "chunked");
    for (int i = 0; i < 4; ++i) chunked.body += "1f4\r\n" + body.substr(0, 500) + "\r\n";
    chunked.body += "0\r\n\r\n";
    return chunked;
  });
  auto http = MakeCurlTransport();
  for (const std::string path : {"/length", "/chunked"}) {
    HttpRequest request = Get(server.base_url() + path);
    request.max_response_bytes = 1000;
    const HttpError error = SendExpectingError(*http, request);
    INFO(path);
    CHECK(error.reason() == HttpError::Reason::kTooLarge);
    CHECK_FALSE(error.transient());
    CHECK(std::string(error.what()) == server.base_url() + path +
                                           ": the answer is over the limit of 1000 bytes (0.0 "
                                           "MiB); refused");
    request.max_response_bytes = 2000;  // exactly at the limit is fine
    CHECK(http->Send(request).body.size() == 2000);
  }
}

TEST_CASE("a truncated body or a dropped connection is a transient connection error", "[http]") {
  FakeHttpServer server([](const FakeRequest& request) {
    FakeResponse response = FakeResponse::Bytes(std::string(5000, 'x'), "image/jpeg");
    if (request.path == "/truncated") response.truncate_body_at = 100;
    if (request.path == "/dropped") response.drop_connection = true;
    return response;
  });
  auto http = MakeCurlTransport();
  for (const std::string path : {"/truncated", "/dropped"}) {
    const HttpError error = SendExpectingError(*http, Get(server.base_url() + path));
    INFO(path << ": " << error.what());
    CHECK(error.reason() == HttpError::Reason::kConnection);
    CHECK_THAT(error.what(),
               Catch::Contains("the connection broke before the answer was complete"));
  }
}

TEST_CASE("same-scheme redirects are followed up to five hops", "[http]") {
  // Given /hop/N redirecting to /hop/N-1 (relative and absolute Locations)
  // and /hop/0 answering, then five hops are followed and six are refused.
  FakeHttpServer* self = nullptr;
  FakeHttpServer server([&self](const FakeRequest& request) {
    const int n = std::stoi(request.path.substr(5));
    if (n == 0) return FakeResponse::Bytes("image", "image/png");
    const std::string next = "/hop/" + std::to_string(n - 1);
    return FakeResponse::Redirect(n % 2 ? 302 : 301, n % 2 ? next : self->base_url() + next);
  });
  self = &server;
  auto http = MakeCurlTransport();
  HttpRequest request = Get(server.base_url() + "/hop/5");
  request.redirects = RedirectPolicy::kSameScheme;
  const HttpResponse response = http->Send(request);
  CHECK(response.status == 200);
  CHECK(response.body == "image");
  CHECK(response.final_url == server.base_url() + "/hop/0");

  request.url = server.base_url() + "/hop/6";
  const HttpError error = SendExpectingError(*http, request);
  CHECK(error.reason() == HttpError::Reason::kRedirect);
  CHECK_FALSE(error.transient());
  CHECK(std::string(error.what()) ==
        server.base_url() + "/hop/6: more than 5 redirects (the last to " + server.base_url() +
            "/hop/0): refused; use the image's final URL");
}

TEST_CASE("a redirect that changes the scheme is refused with both URLs named", "[http]") {
  FakeHttpServer server([](const FakeRequest& request) {
    if (request.path == "/ftp.jpg") return FakeResponse::Redirect(302, "ftp://127.0.0.1/a.jpg");
    return FakeResponse::Redirect(301, "https://127.0.0.1/b.jpg");
  });
  auto http = MakeCurlTransport();
  for (const auto& [path, target] : {std::pair{"/ftp.jpg", "ftp://127.0.0.1/a.jpg"},
                                     {"/https.jpg", "https://127.0.0.1/b.jpg"}}) {
    HttpRequest request = Get(server.base_url() + path);
    request.redirects = RedirectPolicy::kSameScheme;
    const HttpError error = SendExpectingError(*http, request);
    CHECK(error.reason() == HttpError::Reason::kRedirect);
    CHECK(std::string(error.what()) == server.base_url() + path + " redirected to " + target +
                                           ": refused, a redirect may not change the scheme");
  }
}

TEST_CASE("with RedirectPolicy::kNone a 3xx is the response", "[http]") {
  FakeHttpServer server([](const FakeRequest&) { return FakeResponse::Redirect(302, "/other"); });
  const HttpResponse response = MakeCurlTransport()->Send(Get(server.base_url() + "/api"));
  CHECK(response.status == 302);
  CHECK(server.requests_served() == 1);
}

TEST_CASE("Retry-After is read as delta-seconds or as an HTTP-date", "[http]") {
  // Given 429s with Retry-After "7", a date an hour ahead, a date in the
  // past and garbage: 7 s, about an hour, zero, and nothing.
  const auto http_date = [](std::time_t when) {
    char text[64];
    std::tm tm{};
    gmtime_r(&when, &tm);
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(text);
  };
  const std::time_t now = std::time(nullptr);
  const std::map<std::string, std::string> values = {{"/seconds", " 7 "},
                                                     {"/future", http_date(now + 3600)},
                                                     {"/past", http_date(now - 3600)},
                                                     {"/garbage", "soon"}};
  FakeHttpServer server([&values](const FakeRequest& request) {
    FakeResponse response = FakeResponse::Json(429, "{}");
    response.headers.emplace_back("Retry-After", values.at(request.path));
    return response;
  });
  auto http = MakeCurlTransport();
  CHECK(http->Send(Get(server.base_url() + "/seconds")).retry_after == 7000ms);
  const auto future = http->Send(Get(server.base_url() + "/future")).retry_after;
  REQUIRE(future.has_value());
  CHECK(*future > 3000s);  // the clock may tick between the header and the parse
  CHECK(*future <= 3600s);
  CHECK(http->Send(Get(server.base_url() + "/past")).retry_after == 0ms);
  CHECK_FALSE(http->Send(Get(server.base_url() + "/garbage")).retry_after.has_value());
}

TEST_CASE("bad URLs and other schemes are permanent bad-url errors", "[http]") {
  auto http = MakeCurlTransport();
  for (const std::string url : {"ftp://127.0.0.1/a.jpg", "file:///etc/passwd", "http://"}) {
    const HttpError error = SendExpectingError(*http, Get(url));
    INFO(error.what());
    CHECK(error.reason() == HttpError::Reason::kBadUrl);
    CHECK_FALSE(error.transient());
    CHECK_THAT(error.what(), Catch::StartsWith(url + ": "));
  }
}

TEST_CASE("sequential requests reuse one keep-alive connection", "[http]") {
  FakeHttpServer server(
      [](const FakeRequest& request) { return FakeResponse::Bytes(request.path, "text/plain"); });
  auto http = MakeCurlTransport();
  for (int i = 0; i < 50; ++i) {
    const std::string path = "/r" + std::to_string(i);
    REQUIRE(http->Send(Get(server.base_url() + path)).body == path);
  }
  CHECK(server.requests_served() == 50);
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("concurrent Sends from several threads each get their own answer", "[http]") {
  // Given 8 threads sending 25 requests each through one transport, then
  // every answer matches its request and connections are far fewer than
  // requests.
  FakeHttpServer server(
      [](const FakeRequest& request) { return FakeResponse::Bytes(request.path, "text/plain"); });
  auto http = MakeCurlTransport();
  constexpr int kThreads = 8, kEach = 25;
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
        try {
          if (http->Send(Get(server.base_url() + path)).body != path) ++mismatches;
        } catch (const HttpError&) {
          ++errors;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == 0);
  CHECK(errors == 0);
  CHECK(server.requests_served() == kThreads * kEach);
  CHECK(server.connections_accepted() <= kThreads);  // one handle per thread at most
}

}  // namespace
}  // namespace imgbackfill
