// Times and durations as text: UTC ISO-8601 stamps, and the durations a user
// types on the command line ("90s", "15m", "1h30m").
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace imgbackfill {

// "2026-11-23T02:30:00.123Z"
std::string FormatUtcIso8601(std::chrono::system_clock::time_point time);
std::string NowUtcIso8601();

// Parses a duration: one or more <number><unit> parts with units ms, s, m,
// h, d ("1h30m"); a bare number is seconds. nullopt if malformed.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace imgbackfill
