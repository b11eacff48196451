#include "support/fake_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

namespace imgbackfill::testing {
namespace {

// Requests bigger than this are answered 413: a test that sends one has a bug.
constexpr size_t kMaxRequestBytes = 256u << 20;

[[noreturn]] void ThrowErrno(const std::string& what) {
  throw std::runtime_error("FakeHttpServer: " + what + ": " + std::strerror(errno));
}

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

const char* ReasonPhrase(int status) {
  // clang-format off
  static const std::map<int, const char*> kPhrases = {
      {100, "Continue"}, {200, "OK"}, {204, "No Content"}, {301, "Moved Permanently"},
      {302, "Found"}, {303, "See Other"}, {307, "Temporary Redirect"},
      {308, "Permanent Redirect"}, {400, "Bad Request"}, {401, "Unauthorized"},
      {403, "Forbidden"}, {404, "Not Found"}, {410, "Gone"}, {413, "Content Too Large"},
      {429, "Too Many Requests"}, {500, "Internal Server Error"}, {502, "Bad Gateway"},
      {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
  // clang-format on
  const auto it = kPhrases.find(status);
  return it == kPhrases.end() ? "Status" : it->second;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Buffered reads from one connection. Every read returns false once the peer
// closed or the server shut the socket down on destruction.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}

  bool ReadLine(std::string& line) {
    for (;;) {
      const size_t end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return true;
      }
      if (buffer_.size() > 64 * 1024 || !Fill()) return false;
    }
  }

  bool ReadExactly(size_t count, std::string& out) {
    while (buffer_.size() < count) {
      if (!Fill()) return false;
    }
    out.append(buffer_, 0, count);
    buffer_.erase(0, count);
    return true;
  }

 private:
  bool Fill() {
    char chunk[16 * 1024];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  int fd_;
  std::string buffer_;
};

// Chunked request bodies are decoded rather than refused: curl sends one
// when a caller streams a body of unknown length, and a fake that answered
// 411 would hide what the client meant to send.
bool ReadChunkedBody(Reader& reader, std::string& body) {
  for (;;) {
    std::string size_line;
    if (!reader.ReadLine(size_line)) return false;
    size_t size = 0;
    try {
      size = std::stoul(size_line, nullptr, 16);
    } catch (const std::exception&) {
      return false;
    }
    if (body.size() + size > kMaxRequestBytes) return false;
    if (size == 0) {
      std::string trailer;
      do {
        if (!reader.ReadLine(trailer)) return false;
      } while (!trailer.empty());
      return true;
    }
    std::string crlf;
    if (!reader.ReadExactly(size, body) || !reader.ReadExactly(2, crlf)) return false;
  }
}

// nullopt: the connection is over (closed, malformed, or too big, in which
// case a 4xx has been sent).
std::optional<FakeRequest> ReadRequest(int fd, Reader& reader) {
  FakeRequest request;
  std::string line;
  do {  // tolerate stray CRLFs between requests (RFC 9112 2.2)
    if (!reader.ReadLine(line)) return std::nullopt;
  } while (line.empty());
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return std::nullopt;
  request.method = line.substr(0, sp1);
  request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  request.path = request.target.substr(0, request.target.find('?'));
  for (;;) {
    if (!reader.ReadLine(line)) return std::nullopt;
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) return std::nullopt;
    const std::string name = Lower(Trim(line.substr(0, colon)));
    std::string& value = request.headers[name];
    value += (value.empty() ? "" : ", ") + Trim(line.substr(colon + 1));
  }
  if (Lower(request.headers["expect"]) == "100-continue" &&
      !SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
    return std::nullopt;
  }
  if (Lower(request.headers["transfer-encoding"]).find("chunked") != std::string::npos) {
    if (!ReadChunkedBody(reader, request.body)) return std::nullopt;
    return request;
  }
  size_t length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    try {
      length = std::stoull(it->second);
    } catch (const std::exception&) {
      SendAll(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return std::nullopt;
    }
  }
  if (length > kMaxRequestBytes) {
    SendAll(fd, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return std::nullopt;
  }
  if (!reader.ReadExactly(length, request.body)) return std::nullopt;
  return request;
}

}  // namespace

FakeResponse FakeResponse::Json(int status, std::string body) {
  FakeResponse response;
  response.status = status;
  response.headers = {{"Content-Type", "application/json"}};
  response.body = std::move(body);
  return response;
}

FakeResponse FakeResponse::Bytes(std::string body, std::string content_type) {
  FakeResponse response;
  response.headers = {{"Content-Type", std::move(content_type)}};
  response.body = std::move(body);
  return response;
}

FakeResponse FakeResponse::Redirect(int status, std::string location) {
  FakeResponse response;
  response.status = status;
  response.headers = {{"Location", std::move(location)}};
  return response;
}

struct FakeHttpServer::Impl {
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  Handler handler;
  int listen_fd = -1;
  int wake_pipe[2] = {-1, -1};
  int port = 0;
  std::atomic<int> served{0};
  std::atomic<int> accepted{0};

  std::mutex mutex;
  std::condition_variable stop_cv;  // cuts delayed answers short
  bool stopping = false;
  std::set<int> open_fds;             // shut down on destruction to unblock recv/send
  std::list<Connection> connections;  // touched by the accept thread only, until it is joined
  std::thread accept_thread;

  ~Impl() {
    for (int fd : {listen_fd, wake_pipe[0], wake_pipe[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void AcceptLoop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      // The listening socket is non-blocking, so a client that left between
      // poll and accept cannot park this thread where the destructor's wake
      // byte does not reach it. CLOEXEC: tests fork the real binary.
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted;
      // Without it, Nagle's algorithm and the client's delayed ACK add 40 ms
      // to every keep-alive request.
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      {
        std::lock_guard lock(mutex);
        open_fds.insert(fd);
      }
      // Reap finished connections so that a long test does not pile up threads.
      for (auto it = connections.begin(); it != connections.end();) {
        if (it->done) {
          it->thread.join();
          it = connections.erase(it);
        } else {
          ++it;
        }
      }
      Connection& connection = connections.emplace_back();
      connection.thread = std::thread([this, fd, &connection] {
        Serve(fd);
        {
          // Closed under the lock so that the destructor never shuts down a
          // reused descriptor number.
          std::lock_guard lock(mutex);
          open_fds.erase(fd);
          ::close(fd);
        }
        connection.done = true;
      });
    }
  }

  void Serve(int fd) {
    Reader reader(fd);
    for (;;) {
      std::optional<FakeRequest> request = ReadRequest(fd, reader);
      if (!request) return;
      FakeResponse response;
      try {
        response = handler(*request);
      } catch (const std::exception& e) {
        response = FakeResponse::Bytes(std::string("handler threw: ") + e.what(), "text/plain");
        response.status = 500;
      }
      ++served;
      if (response.delay.count() > 0) {
        std::unique_lock lock(mutex);
        if (stop_cv.wait_for(lock, response.delay, [this] { return stopping; })) return;
      }
      if (response.drop_connection) return;
      const bool close =
          Lower(request->headers["connection"]) == "close" || response.truncate_body_at >= 0;
      std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                         ReasonPhrase(response.status) + "\r\n";
      bool has_length = false;
      for (const auto& [name, value] : response.headers) {
        // A handler that sets either sends its body framed as it says
        // (e.g. pre-chunked, or a lying Content-Length).
        has_length =
            has_length || Lower(name) == "content-length" || Lower(name) == "transfer-encoding";
        head += name + ": " + value + "\r\n";
      }
      if (!has_length) head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
      head += close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
      std::string_view body = response.body;
      if (request->method == "HEAD") body = {};
      if (response.truncate_body_at >= 0) {
        body =
            body.substr(0, std::min(body.size(), static_cast<size_t>(response.truncate_body_at)));
      }
      head.append(body);  // one write: the client sees the answer at once
      if (!SendAll(fd, head) || close) return;
    }
  }
};

FakeHttpServer::FakeHttpServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  if (::pipe2(impl_->wake_pipe, O_CLOEXEC) != 0) ThrowErrno("pipe");
  impl_->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (impl_->listen_fd < 0) ThrowErrno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(impl_->listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ThrowErrno("bind 127.0.0.1:0");
  }
  if (::listen(impl_->listen_fd, 128) != 0) ThrowErrno("listen");
  socklen_t length = sizeof address;
  if (::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ThrowErrno("getsockname");
  }
  impl_->port = ntohs(address.sin_port);
  impl_->accept_thread = std::thread([impl = impl_.get()] { impl->AcceptLoop(); });
}

FakeHttpServer::~FakeHttpServer() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->accept_thread.joinable()) {
    const char byte = 0;
    [[maybe_unused]] const ssize_t n = ::write(impl_->wake_pipe[1], &byte, 1);
    impl_->accept_thread.join();
  }
  {
    std::lock_guard lock(impl_->mutex);
    for (int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& connection : impl_->connections) connection.thread.join();
}

int FakeHttpServer::port() const { return impl_->port; }

std::string FakeHttpServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

int FakeHttpServer::requests_served() const { return impl_->served; }

int FakeHttpServer::connections_accepted() const { return impl_->accepted; }

}  // namespace imgbackfill::testing
