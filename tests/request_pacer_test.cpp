// The request pacer (--rate) and base64, the two small pieces every hosted
// provider request goes through.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "imgbackfill/provider.h"
#include "providers/base64.h"

namespace imgbackfill {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("base64 encodes the RFC 4648 test vectors and decodes them back", "[provider]") {
  // Given the test vectors of RFC 4648 section 10, encoding gives the listed
  // text and decoding that text gives the bytes again.
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [bytes, text] : vectors) {
    CHECK(Base64Encode(bytes) == text);
    CHECK(Base64Decode(text) == bytes);
  }
  // Every byte value survives the round trip (JPEG data is binary).
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  CHECK(Base64Encode(all).substr(0, 8) == "AAECAwQF");
  CHECK(Base64Decode(Base64Encode(all)) == all);
}

TEST_CASE("base64 decoding refuses foreign characters, ragged lengths and misplaced padding",
          "[provider]") {
  CHECK_FALSE(Base64Decode("Zm9v!A==").has_value());
  CHECK_FALSE(Base64Decode("Zm9vY").has_value());
  CHECK_FALSE(Base64Decode("Zg==Zm9v").has_value());
  CHECK_FALSE(Base64Decode("Z===").has_value());
  CHECK_FALSE(Base64Decode("Zm=v").has_value());
  CHECK_FALSE(Base64Decode("Zm9v\n").has_value());
}

TEST_CASE("a pacer at 600 requests a minute spaces ten requests at least 0.9 s apart overall",
          "[provider]") {
  // Given a rate of 600/min (one request every 100 ms, no burst), ten
  // requests cannot all be granted in less than nine intervals. Only the
  // lower bound is checked: a loaded machine may be slower, never faster.
  auto pacer = MakeRequestPacer(600);
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < 10; ++i) REQUIRE(pacer->Acquire());
  CHECK(Clock::now() - start >= 900ms);
}

TEST_CASE("a pause holds the next request back at least that long, even when unlimited",
          "[provider]") {
  // Given an unlimited pacer paused for 300 ms (a 429's Retry-After), the
  // next request is granted no sooner than 300 ms later.
  auto pacer = MakeRequestPacer(0);
  REQUIRE(pacer->Acquire());
  const Clock::time_point start = Clock::now();
  pacer->PauseFor(300ms);
  REQUIRE(pacer->Acquire());
  CHECK(Clock::now() - start >= 300ms);
  // A shorter pause later does not shorten a longer one in force.
  pacer->PauseFor(300ms);
  pacer->PauseFor(10ms);
  const Clock::time_point again = Clock::now();
  REQUIRE(pacer->Acquire());
  CHECK(Clock::now() - again >= 250ms);
}

TEST_CASE("the next turn is now for a fresh pacer and one interval after a grant", "[provider]") {
  // Given 60 requests a minute, a fresh pacer's turn has come; after one
  // grant the next turn is about a second away (and not before 900 ms,
  // whatever the machine's load), and a pause pushes it further.
  auto pacer = MakeRequestPacer(60);
  CHECK(pacer->NextTurn() <= Clock::now());
  REQUIRE(pacer->Acquire());
  const Clock::time_point granted = Clock::now();
  CHECK(pacer->NextTurn() - granted >= 900ms);
  CHECK(pacer->NextTurn() - granted <= 1000ms);
  pacer->PauseFor(std::chrono::hours(1));
  CHECK(pacer->NextTurn() - Clock::now() >= std::chrono::minutes(59));
}

// Whether an Acquire that a thread is blocked in (given 50 ms to block)
// is granted once the pacer is closed. Were Close broken, the join would
// hang and the test time out.
bool GrantedAfterClose(RequestPacer& pacer) {
  bool granted = true;
  std::thread waiter([&] { granted = pacer.Acquire(); });
  std::this_thread::sleep_for(50ms);
  pacer.Close();
  waiter.join();
  return granted;
}

TEST_CASE("a closed pacer refuses at once and releases a caller that was waiting", "[provider]") {
  // Given a pacer paused for an hour and a thread waiting in Acquire, Close
  // makes that Acquire return false; later calls return false too.
  auto pacer = MakeRequestPacer(60);
  REQUIRE(pacer->Acquire());
  pacer->PauseFor(std::chrono::hours(1));
  CHECK_FALSE(GrantedAfterClose(*pacer));
  CHECK_FALSE(pacer->Acquire());
}

PacerOptions Outage(std::chrono::milliseconds pause) {
  PacerOptions options;
  options.provider = "fake";
  options.outage_after = 5;
  options.outage_pause = pause;
  return options;
}

// `count` requests that each fail.
void Fail(RequestPacer& pacer, int count) {
  for (int i = 0; i < count; ++i) {
    REQUIRE(pacer.Acquire());
    pacer.Report("fake answered HTTP 503");
  }
}

TEST_CASE("five failed requests in a row hold every request for the outage pause", "[provider]") {
  // Given an outage pause of 300 ms, four failures leave requests free; the
  // fifth holds the next one back at least 300 ms.
  auto pacer = MakeRequestPacer(Outage(300ms));
  Fail(*pacer, 4);
  CHECK(pacer->NextTurn() <= Clock::now());
  Fail(*pacer, 1);
  const Clock::time_point opened = Clock::now();
  CHECK(pacer->NextTurn() > opened);
  REQUIRE(pacer->Acquire());
  CHECK(Clock::now() - opened >= 250ms);
}

TEST_CASE("failures broken by an answer do not add up to an outage", "[provider]") {
  auto pacer = MakeRequestPacer(Outage(std::chrono::hours(1)));
  Fail(*pacer, 4);
  REQUIRE(pacer->Acquire());
  pacer->Report(std::nullopt);
  Fail(*pacer, 4);
  CHECK(pacer->NextTurn() <= Clock::now());
}

TEST_CASE("in an outage one request tries the provider alone and its answer frees the rest",
          "[provider]") {
  // Given an outage whose 10 ms pause has passed, the first Acquire is the
  // probe; a second one waits (100 ms here, and NextTurn says "not before
  // the probe is reported") until the probe reports an answer.
  auto pacer = MakeRequestPacer(Outage(10ms));
  Fail(*pacer, 5);
  REQUIRE(pacer->Acquire());  // the probe
  std::atomic<bool> second_went{false};
  std::thread second([&] { second_went = pacer->Acquire(); });
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(second_went);
  CHECK(pacer->NextTurn() == Clock::time_point::max());
  pacer->Report(std::nullopt);
  second.join();
  CHECK(second_went);
  pacer->Report(std::nullopt);
  CHECK(pacer->NextTurn() <= Clock::now());
}

TEST_CASE("a failed probe doubles the outage pause", "[provider]") {
  // Given a 200 ms first pause, the probe after it fails: the next request
  // waits at least 400 ms from then.
  auto pacer = MakeRequestPacer(Outage(200ms));
  Fail(*pacer, 5);
  REQUIRE(pacer->Acquire());
  pacer->Report("fake answered HTTP 503");
  const Clock::time_point failed = Clock::now();
  REQUIRE(pacer->Acquire());
  CHECK(Clock::now() - failed >= 350ms);
}

TEST_CASE("closing the pacer releases a request waiting for an outage probe", "[provider]") {
  auto pacer = MakeRequestPacer(Outage(10ms));
  Fail(*pacer, 5);
  REQUIRE(pacer->Acquire());  // the probe, never reported
  CHECK_FALSE(GrantedAfterClose(*pacer));
}

}  // namespace
}  // namespace imgbackfill
