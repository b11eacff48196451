// Gathers images for embedding across jobs: a batch goes out when it holds
// batch_size images, or when its first image has waited batch_window,
// whichever comes first; FlushNow sends what there is (shutdown, or when the
// worker knows no more images are coming soon).
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

  EmbedBatcher(int batch_size, std::chrono::milliseconds window, Send send)
      : batch_size_(batch_size), window_(window), send_(std::move(send)) {
    timer_ = std::thread([this] { TimerLoop(); });
  }
  ~EmbedBatcher() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    wake_.notify_all();
    timer_.join();
    if (!pending_.empty()) send_(std::move(pending_));
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
    Batch rest;
    {
      std::lock_guard lock(mu_);
      flush_all_ = true;
      rest.swap(pending_);
    }
    if (!rest.empty()) send_(std::move(rest));
  }

 private:
  void TimerLoop() {
    std::unique_lock lock(mu_);
    while (!closing_) {
      if (pending_.empty()) {
        wake_.wait(lock);
        continue;
      }
      const auto due = first_added_ + window_;
      if (std::chrono::steady_clock::now() < due) {
        wake_.wait_until(lock, due);
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
  std::mutex mu_;
  std::condition_variable wake_;
  Batch pending_;
  std::chrono::steady_clock::time_point first_added_;
  bool flush_all_ = false;
  bool closing_ = false;
  std::thread timer_;
};

}  // namespace imgbackfill
