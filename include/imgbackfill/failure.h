// Why one piece of analysis did not succeed, as a value the worker acts on:
// a transient failure (timeout, connection, 429, 5xx) is retried later, a
// permanent one (missing or corrupt file, other 4xx, wrong dimension) ends
// the job dead with `message` kept as its error.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "imgbackfill/error.h"

namespace imgbackfill {

struct Failure {
  bool transient = false;
  // What failed and why, for the job's last_error and the log. Never holds
  // an API key or a request body.
  std::string message;
  // The server's Retry-After, when it sent one: the retry waits at least
  // this long.
  std::optional<std::chrono::milliseconds> retry_after;

  static Failure Transient(std::string message,
                           std::optional<std::chrono::milliseconds> retry_after = std::nullopt) {
    return {true, std::move(message), retry_after};
  }
  static Failure Permanent(std::string message) {
    return {false, std::move(message), std::nullopt};
  }
};

// Thrown where a Failure must unwind (loading and decoding an image); caught
// by the worker and turned back into the value.
class AnalysisError : public Error {
 public:
  explicit AnalysisError(Failure failure)
      : Error(ErrorKind::kFailed, failure.message), failure_(std::move(failure)) {}
  const Failure& failure() const { return failure_; }

 private:
  Failure failure_;
};

}  // namespace imgbackfill
