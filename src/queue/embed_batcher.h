// Gathers images for embedding across jobs: a batch goes out when it holds
// batch_size images, or when its first image has waited batch_window and a
// request could go (the gate), whichever comes first; FlushAll sends what
// there is (shutdown).
//
// The gate keeps a partial batch growing while every request slot is busy
// or the rate limit has not given the next turn: sent earlier, it would
// only wait in the request queue and spend a whole request of the rate
// limit on a few images. A full batch goes at once, gate or not: it cannot
// grow, and queued it is ready the moment a slot frees.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace imgbackfill {

template <typename Item>
class EmbedBatcher {
 public:
  using Batch = std::vector<Item>;
  using Send = std::function<void(Batch)>;
  using TimePoint = std::chrono::steady_clock::time_point;
  // When a request could go: now or earlier (at once), a moment to come
  // (the rate limit's next turn), or TimePoint::max() (every slot busy:
  // Wake is called when that changes). Called with the batcher's lock held.
  using Gate = std::function<TimePoint()>;

  EmbedBatcher(int batch_size, std::chrono::milliseconds window, Send send, Gate gate = nullptr)
      : batch_size_(batch_size), window_(window), send_(std::move(send)), gate_(std::move(gate)) {
    timer_ = std::thread([this] { TimerLoop(); });
  }
  ~EmbedBatcher() { Close(); }

  // Stops the timer and sends what is pending. Add may not be called after
  // it; Wake may.
  void Close() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    wake_.notify_all();
    if (timer_.joinable()) timer_.join();
    FlushPending();
  }
  EmbedBatcher(const EmbedBatcher&) = delete;
  EmbedBatcher& operator=(const EmbedBatcher&) = delete;

  void Add(Item item) {
    Batch full;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) first_added_ = std::chrono::steady_clock::now();
      pending_.push_back(std::move(item));
      if (static_cast<int>(pending_.size()) < batch_size_ && !flush_all_) {
        wake_.notify_all();
        return;
      }
      full.swap(pending_);
    }
    send_(std::move(full));
  }

  // Sends the partial batch now, and from now on every item at once.
  void FlushAll() {
    {
      std::lock_guard lock(mu_);
      flush_all_ = true;  // an Add from here on sends what is pending with it
    }
    FlushPending();
  }

  // Sends the partial batch now, window and gate or not (nothing more is
  // coming for it to wait for).
  void FlushPending() {
    Batch rest;
    {
      std::lock_guard lock(mu_);
      rest.swap(pending_);
    }
    if (!rest.empty()) send_(std::move(rest));
  }

  // What the gate answers may have changed (a request slot freed).
  void Wake() {
    // Under the lock, so that the timer cannot miss it between asking the
    // gate and going to sleep.
    std::lock_guard lock(mu_);
    wake_.notify_all();
  }

 private:
  void TimerLoop() {
    std::unique_lock lock(mu_);
    while (!closing_) {
      if (pending_.empty()) {
        wake_.wait(lock);
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      const auto due = first_added_ + window_;
      if (now < due) {
        wake_.wait_until(lock, due);
        continue;
      }
      // The gate first, the clock after it: a gate answering "now" is then
      // never in the future.
      const TimePoint open = gate_ ? gate_() : TimePoint::min();
      if (std::chrono::steady_clock::now() < open) {
        if (open == TimePoint::max()) {
          wake_.wait(lock);
        } else {
          wake_.wait_until(lock, open);
        }
        continue;
      }
      Batch batch;
      batch.swap(pending_);
      lock.unlock();
      send_(std::move(batch));
      lock.lock();
    }
  }

  const int batch_size_;
  const std::chrono::milliseconds window_;
  const Send send_;
  const Gate gate_;
  std::mutex mu_;
  std::condition_variable wake_;
  Batch pending_;
  std::chrono::steady_clock::time_point first_added_;
  bool flush_all_ = false;
  bool closing_ = false;
  std::thread timer_;
};

}  // namespace imgbackfill
