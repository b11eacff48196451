#include "queue/retry_policy.h"

#include <algorithm>
#include <cmath>

namespace imgbackfill {

JobFailureParams DecideFailure(const Failure& failure, int attempt, const RetryPolicy& policy,
                               double random) {
  JobFailureParams params;
  if (!failure.transient) {
    params.action = FailureAction::kDead;
    params.error = failure.message;
    return params;
  }
  if (attempt >= policy.max_attempts) {
    params.action = FailureAction::kDead;
    params.error = "gave up after " + std::to_string(attempt) +
                   (attempt == 1 ? " attempt: " : " attempts: ") + failure.message;
    return params;
  }
  const double doubling = std::ldexp(1.0, std::clamp(attempt - 1, 0, 30));
  double delay = static_cast<double>(policy.base_delay.count()) * doubling;
  delay = std::min(delay, static_cast<double>(policy.max_delay.count()));
  delay *= 0.75 + 0.5 * std::clamp(random, 0.0, 1.0);
  auto delay_ms = static_cast<int64_t>(delay);
  if (failure.retry_after) delay_ms = std::max<int64_t>(delay_ms, failure.retry_after->count());
  params.action = FailureAction::kRetry;
  params.error = failure.message;
  params.retry_in_ms = delay_ms;
  return params;
}

}  // namespace imgbackfill
