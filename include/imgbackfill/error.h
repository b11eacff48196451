// The project's one error type. Library exceptions (SQLiteCpp, libpqxx,
// libcurl, libvips) are translated into it at the boundary where they occur,
// so that what reaches the user names what failed and what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace imgbackfill {

// What kind of failure, which decides the process exit code (see ExitCode).
enum class ErrorKind {
  kUsage,        // a flag or argument is wrong: exit 2
  kUnavailable,  // database or provider unreachable, missing or read-only: exit 69
  kTryAgain,     // interrupted, lock held, database busy; safe to run again: exit 75
  kConfig,       // bad configuration, wrong file, schema mismatch: exit 78
  kFailed,       // anything else: exit 1
};

// Process exit codes, sysexits.h-compatible where one exists.
namespace exit_code {
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;
inline constexpr int kUsage = 2;
inline constexpr int kUnavailable = 69;
inline constexpr int kTryAgain = 75;
inline constexpr int kConfig = 78;
}  // namespace exit_code

int ExitCodeFor(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return ExitCodeFor(kind_); }

 private:
  ErrorKind kind_;
};

}  // namespace imgbackfill
