#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "backfill/progress.h"
#include "common/time_text.h"
#include "imgbackfill/backfill.h"
#include "imgbackfill/error.h"

namespace imgbackfill {
namespace {

Scope ScopeOf(const RunParams& params) {
  return Scope{params.model, params.product_images_only, params.include_dead};
}

std::string DescribeParams(const RunParams& p) {
  return "model " + p.model + ", limit " + std::to_string(p.limit) +
         (p.product_images_only ? ", product images only" : ", all groups") +
         (p.include_dead ? ", including dead" : "");
}

std::string DescribeCursor(const Cursor& c) {
  return c.last_id == 0 && c.group == kGroupProductPrimary
             ? "the start"
             : "group " + std::to_string(c.group) + " after image " + std::to_string(c.last_id);
}

std::string DescribeHolder(const Holder& h) {
  if (h.pid == 0) return "a process that has not written its name yet";
  return "pid " + std::to_string(h.pid) + " on host " + h.host +
         (h.since.empty() ? "" : " since " + h.since);
}

// The run to continue, if any: an interrupted one, or one whose process died
// (we hold the lock, so a run still marked running has no live holder).
std::optional<BackfillRun> PickRunToResume(Store& store, const BackfillOptions& options,
                                           bool writes) {
  std::optional<BackfillRun> unfinished = store.FindUnfinishedRun();
  if (!unfinished || !options.restart) return unfinished;
  if (writes) {
    store.FinishRun(unfinished->id, RunState::kFailed,
                    "abandoned by --restart at " + DescribeCursor(unfinished->cursor) + " after " +
                        std::to_string(unfinished->queued) + " queued");
    spdlog::info("--restart: abandoned run {} at {} ({} queued); starting a new run",
                 unfinished->id, DescribeCursor(unfinished->cursor), unfinished->queued);
  }
  return std::nullopt;
}

BackfillOutcome DryRun(Store& store, const BackfillOptions& options) {
  BackfillOutcome out;
  out.ending = BackfillEnding::kDryRun;
  out.params = options.params;
  int64_t remaining = options.params.limit;
  if (auto run = PickRunToResume(store, options, /*writes=*/false)) {
    out.resumed = true;
    out.params = run->params;
    out.cursor = run->cursor;
    out.queued_total = run->queued;
    remaining = std::max<int64_t>(0, run->params.limit - run->queued);
  }
  const Scope scope = ScopeOf(out.params);
  out.candidates = store.CountCandidates(scope);
  Cursor cursor = out.cursor;
  const int64_t want = std::min<int64_t>(remaining, options.dry_run_preview);
  while (static_cast<int64_t>(out.preview.size()) < want) {
    auto page = store.ListCandidates(scope, cursor, static_cast<int>(want - out.preview.size()));
    if (page.empty()) break;
    out.preview.insert(out.preview.end(), page.begin(), page.end());
    cursor = {page.back().group, page.back().image_id};
  }
  return out;
}

}  // namespace

Holder CurrentProcessHolder() {
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof host - 1);
  return Holder{host, static_cast<int64_t>(::getpid()), NowUtcIso8601()};
}

BackfillOutcome RunBackfill(Store& store, const BackfillOptions& options,
                            const BackfillEnvironment& env) {
  if (options.dry_run) return DryRun(store, options);

  const auto started = env.now();
  LockAttempt lock = store.TryLockBackfill(env.me);
  if (!lock.lock) {
    throw Error(ErrorKind::kTryAgain, "another backfill run is in progress on " + store.Describe() +
                                          ": held by " + DescribeHolder(lock.holder) +
                                          ". Nothing was changed; run again when it has finished.");
  }

  BackfillOutcome out;
  BackfillRun run;
  if (auto previous = PickRunToResume(store, options, /*writes=*/true)) {
    run = *previous;
    out.resumed = true;
    if (options.params_explicit && !(options.params == run.params)) {
      spdlog::warn(
          "run {} was started with {}; resuming it with those, not the {} given now "
          "(use --restart to start over with the new parameters)",
          run.id, DescribeParams(run.params), DescribeParams(options.params));
    }
    const bool died = run.state == RunState::kRunning;
    store.AdoptRun(run.id, env.me);
    spdlog::info(
        "resuming run {} ({}) from {}: {} queued so far; {}", run.id,
        died ? "its process, " + DescribeHolder(run.holder) + ", died" : std::string("interrupted"),
        DescribeCursor(run.cursor), run.queued, DescribeParams(run.params));
  }
  const RunParams params = out.resumed ? run.params : options.params;
  const Scope scope = ScopeOf(params);
  out.params = params;
  out.candidates = store.CountCandidates(scope);
  if (!out.resumed) run = store.CreateRun(params, env.me, out.candidates.total());
  spdlog::info(
      "run {}: {} candidates in scope (group 0, product primary images: {}; group 1, "
      "other images: {}); {}",
      run.id, out.candidates.total(), out.candidates.group0,
      params.product_images_only ? std::string("not walked")
                                 : std::to_string(out.candidates.group1),
      DescribeParams(params));
  if (!out.resumed && out.candidates.total() == 0) {
    store.FinishRun(run.id, RunState::kCompleted, "");
    spdlog::info(
        "nothing to do: all active images in scope already have an embedding from "
        "model {} (or a job queued); run {} completed",
        params.model, run.id);
    out.ending = BackfillEnding::kNothingToDo;
    out.run_id = run.id;
    return out;
  }
  out.run_id = run.id;
  out.cursor = run.cursor;
  out.queued_total = run.queued;

  auto progress = options.progress_bar ? MakeBarProgress() : MakeLogProgress(options.log_every);
  progress->Begin(run.queued, std::min(params.limit - run.queued, out.candidates.total()));
  const auto deadline = options.max_runtime ? started + *options.max_runtime
                                            : std::chrono::steady_clock::time_point::max();
  auto should_stop = [&] { return env.stop_requested() || env.now() >= deadline; };

  try {
    bool stopped = false;
    while (!stopped && out.queued_total < params.limit) {
      const auto page = store.ListCandidates(scope, out.cursor, options.page_size);
      if (page.empty()) break;
      for (const Candidate& candidate : page) {
        if (should_stop()) {
          stopped = true;
          break;
        }
        const EnqueueOutcome outcome = store.EnqueueAndCheckpoint(run.id, scope, candidate);
        out.cursor = {candidate.group, candidate.image_id};
        if (outcome == EnqueueOutcome::kQueued) {
          ++out.queued_now;
          ++out.queued_total;
          progress->Advance(out.queued_total, out.cursor);
          if (out.queued_total >= params.limit) break;
        } else {
          ++out.skipped_now;
        }
      }
    }
    progress->End();
    if (stopped) {
      store.FinishRun(run.id, RunState::kInterrupted, "");
      out.ending = BackfillEnding::kInterrupted;
      spdlog::warn(
          "run {} interrupted after queuing {} ({} in all); the next invocation "
          "resumes it from {}",
          run.id, out.queued_now, out.queued_total, DescribeCursor(out.cursor));
      return out;
    }
    store.FinishRun(run.id, RunState::kCompleted, "");
    out.ending = BackfillEnding::kCompleted;
    spdlog::info(
        "run {} completed: queued {} ({} in all, {}), {} skipped because they changed "
        "meanwhile; cursor at {}",
        run.id, out.queued_now, out.queued_total,
        out.queued_total >= params.limit ? "limit reached" : "end of scope", out.skipped_now,
        DescribeCursor(out.cursor));
    return out;
  } catch (const Error& e) {
    progress->End();
    // A database that went away or was busy leaves the run resumable; any
    // other failure ends it, and the next invocation starts afresh (the
    // images already queued are out of scope, so none is queued twice).
    const bool transient = e.kind() == ErrorKind::kTryAgain || e.kind() == ErrorKind::kUnavailable;
    try {
      store.FinishRun(run.id, transient ? RunState::kInterrupted : RunState::kFailed, e.what());
    } catch (const Error&) {
      // The run stays marked running; the next invocation resumes it.
    }
    throw;
  }
}

}  // namespace imgbackfill
