#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "imgbackfill/provider.h"

namespace imgbackfill {
namespace {

using Clock = std::chrono::steady_clock;

// A token bucket of depth one: requests leave evenly spaced, never in a
// burst. A deeper bucket would let a worker that was idle fire a volley at
// a provider whose per-minute quota is enforced over shorter windows, and
// earn a 429 for it; even spacing costs nothing at steady state.
class TokenBucketPacer : public RequestPacer {
 public:
  explicit TokenBucketPacer(double requests_per_minute)
      : interval_(requests_per_minute > 0
                      ? std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(60.0 / requests_per_minute))
                      : Clock::duration::zero()),
        next_(Clock::now()) {}

  bool Acquire() override {
    std::unique_lock lock(mutex_);
    while (!closed_) {
      const Clock::time_point now = Clock::now();
      if (now >= next_) {
        next_ = now + interval_;
        return true;
      }
      // Woken early by Close, or by a PauseFor that moved next_ (the loop
      // re-reads it); spurious wake-ups are harmless for the same reason.
      changed_.wait_until(lock, next_);
    }
    return false;
  }

  void PauseFor(std::chrono::milliseconds delay) override {
    {
      std::lock_guard lock(mutex_);
      next_ = std::max(next_, Clock::now() + delay);
    }
    changed_.notify_all();
  }

  Clock::time_point NextTurn() override {
    std::lock_guard lock(mutex_);
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
  const Clock::duration interval_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Clock::time_point next_;  // the earliest moment the next request may go
  bool closed_ = false;
};

}  // namespace

std::unique_ptr<RequestPacer> MakeRequestPacer(double requests_per_minute) {
  return std::make_unique<TokenBucketPacer>(requests_per_minute);
}

}  // namespace imgbackfill
