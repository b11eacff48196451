// The backfill run: walks the images in scope in (group, id) order and, one
// transaction per record, enqueues each image's analysis job and moves the
// run's cursor. Resumable after any interruption; see ../../docs/architecture.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "imgbackfill/store.h"
#include "imgbackfill/types.h"

namespace imgbackfill {

struct BackfillOptions {
  RunParams params;
  // True for the parameters the user set explicitly: on a resume, the stored
  // parameters win and a differing explicit one is reported.
  bool params_explicit = false;
  bool dry_run = false;
  bool restart = false;
  std::optional<std::chrono::milliseconds> max_runtime;
  int page_size = 500;
  int dry_run_preview = 20;   // how many ids --dry-run lists
  int log_every = 500;        // progress line every N queued (not on a terminal)
  bool progress_bar = false;  // draw a bar on stderr instead of progress lines
};

enum class BackfillEnding {
  kCompleted,    // limit reached or scope exhausted
  kNothingToDo,  // no candidates at the start; the run is recorded completed
  kInterrupted,  // signal or --max-runtime; resumable
  kDryRun,       // nothing written
};

struct BackfillOutcome {
  BackfillEnding ending = BackfillEnding::kCompleted;
  int64_t run_id = 0;  // 0 for a dry run
  bool resumed = false;
  RunParams params;          // as used (the stored ones on a resume)
  ScopeCounts candidates;    // at the start
  int64_t queued_now = 0;    // by this invocation
  int64_t queued_total = 0;  // by the run, across resumes
  int64_t skipped_now = 0;   // left scope between listing and enqueue
  Cursor cursor;
  std::vector<Candidate> preview;  // dry run: the first ids it would queue
};

// What the runner needs from its surroundings, passed in so that tests and
// the CLI control them.
struct BackfillEnvironment {
  // Polled before each record; true ends the run as interrupted.
  std::function<bool()> stop_requested = [] { return false; };
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
  Holder me;  // who this process is, for the lock and the run row
};

// Runs (or resumes) the backfill. Throws Error(kTryAgain) naming the holder
// when another run holds the lock, and lets other Errors through after
// recording them on the run.
BackfillOutcome RunBackfill(Store& store, const BackfillOptions& options,
                            const BackfillEnvironment& env);

// This process as a lock holder: host name, pid, and the time now.
Holder CurrentProcessHolder();

}  // namespace imgbackfill
