#include "imgbackfill/types.h"

#include <array>
#include <utility>

namespace imgbackfill {
namespace {

constexpr std::array<std::pair<JobState, const char*>, 6> kJobStates{{
    {JobState::kAvailable, "available"},
    {JobState::kRunning, "running"},
    {JobState::kRetryable, "retryable"},
    {JobState::kCompleted, "completed"},
    {JobState::kDead, "dead"},
    {JobState::kCancelled, "cancelled"},
}};

constexpr std::array<std::pair<RunState, const char*>, 4> kRunStates{{
    {RunState::kRunning, "running"},
    {RunState::kInterrupted, "interrupted"},
    {RunState::kCompleted, "completed"},
    {RunState::kFailed, "failed"},
}};

template <typename Enum, size_t N>
const char* NameOf(const std::array<std::pair<Enum, const char*>, N>& table, Enum value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
std::optional<Enum> ValueOf(const std::array<std::pair<Enum, const char*>, N>& table,
                            const std::string& text) {
  for (const auto& [v, name] : table) {
    if (text == name) return v;
  }
  return std::nullopt;
}

}  // namespace

const char* ToString(JobState state) { return NameOf(kJobStates, state); }
std::optional<JobState> ParseJobState(const std::string& text) { return ValueOf(kJobStates, text); }
const char* ToString(RunState state) { return NameOf(kRunStates, state); }
std::optional<RunState> ParseRunState(const std::string& text) { return ValueOf(kRunStates, text); }

}  // namespace imgbackfill
