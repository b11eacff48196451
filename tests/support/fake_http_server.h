// A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) for tests: each
// request is answered by a handler the test gives. Keep-alive, one thread per
// connection, Content-Length bodies. Stops and joins its threads when
// destroyed, cutting short any delayed answer.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace imgbackfill::testing {

struct FakeRequest {
  std::string method;
  std::string target;  // path and query, e.g. "/v1/embeddings?x=1"
  std::string path;    // without the query
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

struct FakeResponse {
  int status = 200;
  // Sent as given. Content-Length is added unless the handler sets it or
  // Transfer-Encoding itself (then `body` goes out exactly as framed).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Wait this long before sending anything (a slow server).
  std::chrono::milliseconds delay{0};
  // Send the headers, then only this many bytes of the body, then close
  // (a truncated download). Negative: send it all.
  long long truncate_body_at = -1;
  // Close the connection without answering.
  bool drop_connection = false;

  static FakeResponse Json(int status, std::string body);
  static FakeResponse Bytes(std::string body, std::string content_type);
  static FakeResponse Redirect(int status, std::string location);
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  // Binds 127.0.0.1:0 and starts serving. The handler may be called from
  // several threads at once.
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT"
  // Requests the handler answered (counted before the answer is sent).
  int requests_served() const;
  // TCP connections accepted so far: fewer than requests_served() when the
  // client reused connections (keep-alive).
  int connections_accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgbackfill::testing
