// What happens to a job whose analysis failed: retried later (transient,
// attempts left) or dead (permanent, or the last attempt).
#pragma once

#include <chrono>

#include "imgbackfill/failure.h"
#include "imgbackfill/types.h"

namespace imgbackfill {

struct RetryPolicy {
  int max_attempts = 3;
  std::chrono::milliseconds base_delay{30'000};
  std::chrono::milliseconds max_delay{3'600'000};
};

// `attempt` is the attempt that just failed (1 for the first); `random` is
// uniform in [0, 1). The delay is base * 2^(attempt-1), scaled by a jitter
// of +-25% so that jobs failed together do not return together, raised to
// the failure's Retry-After and capped at max_delay (a Retry-After above
// the cap still wins: the server said so).
JobFailureParams DecideFailure(const Failure& failure, int attempt, const RetryPolicy& policy,
                               double random);

}  // namespace imgbackfill
