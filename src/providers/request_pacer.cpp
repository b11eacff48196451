#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "imgbackfill/provider.h"

namespace imgbackfill {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A token bucket of depth one: requests leave evenly spaced, never in a
// burst. A deeper bucket would let a worker that was idle fire a volley at
// a provider whose per-minute quota is enforced over shorter windows, and
// earn a 429 for it; even spacing costs nothing at steady state.
//
// The outage breaker lives here rather than in the worker because this is
// where every request of one provider passes, vision and embedding alike,
// and where holding them back already happens (Retry-After). It never
// fails a request itself: it only delays, so the attempts a job spends are
// still decided by the job's own requests, and a provider that never
// recovers still ends jobs dead after --max-attempts, a probe at a time.
class TokenBucketPacer : public RequestPacer {
 public:
  explicit TokenBucketPacer(const PacerOptions& options)
      : options_(options),
        interval_(options.requests_per_minute > 0
                      ? std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(60.0 / options.requests_per_minute))
                      : Clock::duration::zero()),
        next_(Clock::now()) {}

  bool Acquire() override {
    std::unique_lock lock(mutex_);
    while (!closed_) {
      const Clock::time_point now = Clock::now();
      if (now < next_) {
        // Woken early by Close, or by a PauseFor that moved next_ (the loop
        // re-reads it); spurious wake-ups are harmless for the same reason.
        changed_.wait_until(lock, next_);
        continue;
      }
      if (InOutage()) {
        // One request at a time finds out whether the provider is back.
        if (probing_) {
          changed_.wait(lock);
          continue;
        }
        probing_ = true;
      }
      next_ = now + interval_;
      return true;
    }
    return false;
  }

  void Report(std::optional<std::string> failure) override {
    {
      std::lock_guard lock(mutex_);
      const bool probe = probing_;
      probing_ = false;
      if (!failure) {
        if (InOutage()) {
          spdlog::info("{} answers again after {} failed requests in a row; requests resume",
                       options_.provider, failures_in_a_row_);
        }
        failures_in_a_row_ = 0;
        pauses_ = 0;
      } else if (++failures_in_a_row_ == options_.outage_after || (probe && InOutage())) {
        // Requests already in flight when the outage began report after
        // this; only the one that opens it and failed probes pause.
        const milliseconds pause =
            std::min(options_.outage_max_pause,
                     options_.outage_pause * (int64_t{1} << std::min(pauses_, 20)));
        ++pauses_;
        next_ = std::max(next_, Clock::now() + pause);
        spdlog::warn(
            "{}: {} requests in a row failed (last: {}); holding every request for {:.1f}s, then "
            "trying one",
            options_.provider, failures_in_a_row_, *failure,
            std::chrono::duration<double>(pause).count());
      }
    }
    changed_.notify_all();
  }

  void PauseFor(milliseconds delay) override {
    {
      std::lock_guard lock(mutex_);
      next_ = std::max(next_, Clock::now() + delay);
    }
    changed_.notify_all();
  }

  Clock::time_point NextTurn() override {
    std::lock_guard lock(mutex_);
    if (InOutage() && probing_) return Clock::time_point::max();
    return next_;
  }

  void Close() override {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    changed_.notify_all();
  }

 private:
  bool InOutage() const {
    return options_.outage_after > 0 && failures_in_a_row_ >= options_.outage_after;
  }

  const PacerOptions options_;
  const Clock::duration interval_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Clock::time_point next_;  // the earliest moment the next request may go
  int failures_in_a_row_ = 0;
  int pauses_ = 0;        // outage pauses since the last answer: the next one doubles
  bool probing_ = false;  // in an outage, the one request out
  bool closed_ = false;
};

}  // namespace

std::unique_ptr<RequestPacer> MakeRequestPacer(const PacerOptions& options) {
  return std::make_unique<TokenBucketPacer>(options);
}

std::unique_ptr<RequestPacer> MakeRequestPacer(double requests_per_minute) {
  PacerOptions options;
  options.provider = "the provider";
  options.requests_per_minute = requests_per_minute;
  return MakeRequestPacer(options);
}

}  // namespace imgbackfill
