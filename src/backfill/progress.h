// How a run shows progress: a log line every N queued, or a bar redrawn in
// place when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "imgbackfill/types.h"

namespace imgbackfill {

class ProgressReporter {
 public:
  virtual ~ProgressReporter() = default;
  // `already` were queued by earlier invocations of the run; `target` is the
  // most this invocation can reach (the smaller of the limit and the scope).
  virtual void Begin(int64_t already, int64_t target) = 0;
  virtual void Advance(int64_t queued_total, const Cursor& cursor) = 0;
  virtual void End() = 0;
};

std::unique_ptr<ProgressReporter> MakeLogProgress(int every);
std::unique_ptr<ProgressReporter> MakeBarProgress();

}  // namespace imgbackfill
