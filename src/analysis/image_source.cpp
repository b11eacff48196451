#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "imgbackfill/failure.h"
#include "imgbackfill/image.h"

namespace imgbackfill {
namespace {

[[noreturn]] void Permanent(const std::string& message) {
  throw AnalysisError(Failure::Permanent(message));
}

std::string MiB(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

std::string OverLimit(const std::string& location, size_t limit) {
  return location + ": larger than the limit of " + MiB(limit) + " (" + std::to_string(limit) +
         " bytes)";
}

// "http", "file", ... when `location` starts with "scheme://"; empty for a
// path. A path may contain "://" further in, but never a valid scheme
// followed by it at its start.
std::string SchemeOf(const std::string& location) {
  const size_t colon = location.find("://");
  if (colon == std::string::npos || colon == 0) return "";
  std::string scheme;
  for (size_t i = 0; i < colon; ++i) {
    const char c = location[i];
    const bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
                    (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' ||
                               c == '-' || c == '.'));
    if (!ok) return "";
    scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return scheme;
}

std::string ReadFile(const std::string& path, size_t max_bytes) {
  struct stat info {};
  // stat before open: opening a FIFO would block until a writer comes.
  if (::stat(path.c_str(), &info) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) Permanent(path + ": no such file");
    if (error == EACCES) Permanent(path + ": permission denied; make it readable by this user");
    Permanent(path + ": cannot read (" + std::strerror(error) + ")");
  }
  if (S_ISDIR(info.st_mode)) Permanent(path + ": is a directory, not an image file");
  if (!S_ISREG(info.st_mode)) Permanent(path + ": not a regular file");
  if (info.st_size == 0) Permanent(path + ": is empty (0 bytes)");
  if (static_cast<uint64_t>(info.st_size) > max_bytes) Permanent(OverLimit(path, max_bytes));

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == EACCES) Permanent(path + ": permission denied; make it readable by this user");
    Permanent(path + ": cannot open (" + std::strerror(error) + ")");
  }
  std::string bytes;
  bytes.reserve(static_cast<size_t>(info.st_size));
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      Permanent(path + ": read error (" + std::strerror(error) + ")");
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
    // The file may have grown since stat.
    if (bytes.size() > max_bytes) {
      ::close(fd);
      Permanent(OverLimit(path, max_bytes));
    }
  }
  ::close(fd);
  if (bytes.empty()) Permanent(path + ": is empty (0 bytes)");
  return bytes;
}

std::string Download(const std::string& url, const LoadLimits& limits, HttpTransport& http) {
  HttpRequest request;
  request.url = url;
  request.headers = {{"Accept", "image/*"}};
  request.timeout = limits.timeout;
  request.connect_timeout = std::min(request.connect_timeout, limits.timeout);
  request.max_response_bytes = limits.max_bytes;
  request.redirects = RedirectPolicy::kSameScheme;
  HttpResponse response;
  try {
    response = http.Send(request);
  } catch (const HttpError& e) {
    if (e.reason() == HttpError::Reason::kTooLarge) Permanent(OverLimit(url, limits.max_bytes));
    throw AnalysisError(e.transient() ? Failure::Transient(e.what())
                                      : Failure::Permanent(e.what()));
  }
  const int status = response.status;
  const std::string answered = url + ": the server answered HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) {
    if (response.body.empty()) Permanent(answered + " with an empty body");
    return std::move(response.body);
  }
  if (status == 404 || status == 410) {
    Permanent(answered + " (" + (status == 404 ? "not found" : "gone") +
              "); fix the image's location or deactivate it");
  }
  // 408 and 429 say "not now" rather than "never": retried like a 5xx.
  if (status == 408 || status == 429 || status >= 500) {
    throw AnalysisError(Failure::Transient(answered + "; will retry", response.retry_after));
  }
  if (status >= 300 && status < 400) Permanent(answered + " without a usable redirect");
  Permanent(answered + "; the image cannot be fetched from this URL");
}

}  // namespace

std::string LoadImageBytes(const std::string& location, const LoadLimits& limits,
                           HttpTransport& http) {
  if (location.empty()) Permanent("the image has an empty location");
  const std::string scheme = SchemeOf(location);
  if (scheme.empty()) return ReadFile(location, limits.max_bytes);
  if (scheme == "http" || scheme == "https") return Download(location, limits, http);
  // file:// would let a catalog row reach files the operator never listed
  // as paths; a plain path says the same thing without the ambiguity.
  Permanent(location + ": unsupported scheme \"" + scheme +
            "\"; a location is a local path or an http(s) URL");
}

}  // namespace imgbackfill
