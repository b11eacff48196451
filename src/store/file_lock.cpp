#include "store/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "imgbackfill/error.h"

namespace imgbackfill {
namespace {

class FileLock : public RunLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() override {
    // Closing the descriptor releases the flock. The file stays: removing it
    // would race with a process that has just opened it.
    ::close(fd_);
  }

 private:
  int fd_;
};

std::string ReadAll(int fd) {
  std::string text;
  char buffer[512];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  return text;
}

}  // namespace

LockAttempt TryLockFile(const std::string& path, const Holder& me) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(ErrorKind::kUnavailable, "cannot open the backfill lock file " + path + ": " +
                                             std::strerror(errno) +
                                             " (the database's directory must be writable)");
  }
  LockAttempt attempt;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string text = ReadAll(fd);
    ::close(fd);
    if (err != EWOULDBLOCK) {
      throw Error(ErrorKind::kUnavailable, "cannot lock " + path + ": " + std::strerror(err));
    }
    auto info = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (info.is_object()) {
      attempt.holder.host = info.value("host", "");
      attempt.holder.pid = info.value("pid", int64_t{0});
      attempt.holder.since = info.value("since", "");
    }
    return attempt;
  }
  nlohmann::json info = {{"host", me.host}, {"pid", me.pid}, {"since", me.since}};
  std::string text = info.dump() + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    int err = errno;
    ::close(fd);
    throw Error(ErrorKind::kUnavailable,
                "cannot write the backfill lock file " + path + ": " + std::strerror(err));
  }
  attempt.lock = std::make_unique<FileLock>(fd);
  attempt.holder = me;
  return attempt;
}

}  // namespace imgbackfill
