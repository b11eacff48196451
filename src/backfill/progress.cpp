#include "backfill/progress.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

namespace imgbackfill {
namespace {

using Clock = std::chrono::steady_clock;

double RatePerSecond(int64_t done, Clock::time_point since) {
  const double seconds = std::chrono::duration<double>(Clock::now() - since).count();
  return seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
}

class LogProgress : public ProgressReporter {
 public:
  explicit LogProgress(int every) : every_(every) {}
  void Begin(int64_t already, int64_t target) override {
    already_ = already;
    target_ = target;
    start_ = Clock::now();
  }
  void Advance(int64_t queued_total, const Cursor& cursor) override {
    const int64_t now = queued_total - already_;
    if (now == 0 || now % every_ != 0) return;
    spdlog::info("queued {} of up to {} this run (run total {}, cursor group {} id {}, {:.0f}/s)",
                 now, target_, queued_total, cursor.group, cursor.last_id,
                 RatePerSecond(now, start_));
  }
  void End() override {}

 private:
  int every_;
  int64_t already_ = 0;
  int64_t target_ = 0;
  Clock::time_point start_;
};

class BarProgress : public ProgressReporter {
 public:
  void Begin(int64_t already, int64_t target) override {
    already_ = already;
    target_ = target;
    start_ = Clock::now();
  }
  void Advance(int64_t queued_total, const Cursor&) override {
    done_ = queued_total - already_;
    const auto now = Clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    Draw(done_);
  }
  void End() override {
    Draw(done_);
    std::fputs("\n", stderr);
  }

 private:
  void Draw(int64_t done) {
    constexpr int kWidth = 40;
    const double fraction =
        target_ > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(target_)) : 1;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '.');
    std::fprintf(stderr, "\r[%s] %lld/%lld %3.0f%% %6.0f/s", bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(target_), fraction * 100,
                 RatePerSecond(done, start_));
    std::fflush(stderr);
  }

  int64_t already_ = 0;
  int64_t target_ = 0;
  int64_t done_ = 0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

}  // namespace

std::unique_ptr<ProgressReporter> MakeLogProgress(int every) {
  return std::make_unique<LogProgress>(every);
}
std::unique_ptr<ProgressReporter> MakeBarProgress() { return std::make_unique<BarProgress>(); }

}  // namespace imgbackfill
