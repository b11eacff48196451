// EmbedBatcher: when a batch of images goes out as one embedding request.
#include "queue/embed_batcher.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace imgbackfill {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// What the batcher sent, and when; waited on with a safety bound.
struct Sent {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::vector<int>> batches;
  std::vector<Clock::time_point> at;

  void Add(std::vector<int> batch) {
    {
      std::lock_guard lock(mu);
      batches.push_back(std::move(batch));
      at.push_back(Clock::now());
    }
    changed.notify_all();
  }
  bool WaitFor(size_t count) {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, 30s, [&] { return batches.size() >= count; });
  }
  size_t Count() {
    std::lock_guard lock(mu);
    return batches.size();
  }
};

TEST_CASE("a partial batch waits while no request could go, then leaves with all it gathered",
          "[batcher]") {
  // Given batches of 10, a 1 ms window and every request slot busy, three
  // images wait past their window (50 ms) without being sent; two more join
  // them; once a slot frees (Wake), the five leave as one batch.
  Sent sent;
  std::atomic<bool> slot_free{false};
  EmbedBatcher<int> batcher(
      10, 1ms, [&](std::vector<int> batch) { sent.Add(std::move(batch)); },
      [&] { return slot_free ? Clock::now() : Clock::time_point::max(); });
  for (int i = 0; i < 3; ++i) batcher.Add(i);
  std::this_thread::sleep_for(50ms);
  CHECK(sent.Count() == 0);
  batcher.Add(3);
  batcher.Add(4);
  slot_free = true;
  batcher.Wake();
  REQUIRE(sent.WaitFor(1));
  CHECK(sent.batches[0] == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("a full batch goes at once even while no request could go", "[batcher]") {
  // Given batches of 4 and a gate that never opens, the fourth image sends
  // the batch from within Add; the fifth starts a new one, which stays.
  Sent sent;
  EmbedBatcher<int> batcher(
      4, 1ms, [&](std::vector<int> batch) { sent.Add(std::move(batch)); },
      [] { return Clock::time_point::max(); });
  for (int i = 0; i < 5; ++i) batcher.Add(i);
  REQUIRE(sent.Count() == 1);
  CHECK(sent.batches[0] == std::vector<int>{0, 1, 2, 3});
  // Close sends the rest whatever the gate says (shutdown).
  batcher.Close();
  REQUIRE(sent.Count() == 2);
  CHECK(sent.batches[1] == std::vector<int>{4});
}

TEST_CASE("a partial batch waits for the rate limit's next turn, not only its window",
          "[batcher]") {
  // Given a 1 ms window and a rate limit whose next turn is 200 ms away,
  // the batch leaves no sooner than that turn.
  Sent sent;
  const Clock::time_point turn = Clock::now() + 200ms;
  EmbedBatcher<int> batcher(
      10, 1ms, [&](std::vector<int> batch) { sent.Add(std::move(batch)); }, [&] { return turn; });
  batcher.Add(1);
  REQUIRE(sent.WaitFor(1));
  CHECK(sent.at[0] >= turn);
  CHECK(sent.batches[0] == std::vector<int>{1});
}

TEST_CASE("without a gate a partial batch leaves when its window has passed", "[batcher]") {
  // Given a 100 ms window and no gate, one image is sent alone, no sooner
  // than 100 ms after it was added.
  Sent sent;
  EmbedBatcher<int> batcher(10, 100ms, [&](std::vector<int> batch) { sent.Add(std::move(batch)); });
  const Clock::time_point added = Clock::now();
  batcher.Add(7);
  REQUIRE(sent.WaitFor(1));
  CHECK(sent.at[0] - added >= 100ms);
  CHECK(sent.batches[0] == std::vector<int>{7});
}

}  // namespace
}  // namespace imgbackfill
