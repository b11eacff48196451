// Figure 2: what starting a run costs, and whether a whole run's cost follows
// the work rather than the catalog. Two mature (sparse) catalogs with the same
// 10,000 candidates: 1M images and 10M images. Trials alternate between them,
// each on a fresh copy of the cached file:
//   start      the steps `run` takes before its first record, through the
//              Store API, each timed: open the store and check its schema (as
//              the CLI does), TryLockBackfill, FindUnfinishedRun,
//              CountCandidates, ListCandidates for the first page of 500.
//              Nothing is written but the lock file.
//   first      RunBackfill until it polls for its first record: the same
//              steps plus CreateRun, through the library's own code path.
//   whole run  that same RunBackfill to the end of scope (limit 1,000,000).
// The copy was just written (and synced), so the kernel's page cache holds it
// (warm). A last trial per catalog drops the copy from the page cache and
// times the start steps again (cold), as the first run after an idle night
// may see.
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"
#include "catalog_gen.h"
#include "imgbackfill/backfill.h"
#include "imgbackfill/store.h"

namespace imgbackfill::bench {
namespace {

constexpr int64_t kCandidates = 10000;
constexpr int kPageSize = 500;  // BackfillOptions::page_size

struct StartSteps {
  double open = 0, lock = 0, unfinished = 0, count = 0, first_page = 0;
  int64_t candidates = 0;
  size_t page = 0;
  double Total() const { return open + lock + unfinished + count + first_page; }
};

StartSteps TimeStartSteps(const std::string& path) {
  StartSteps s;
  Stopwatch step;
  auto store = OpenStore(path);
  store->RequireCurrentSchema();
  s.open = step.Millis();
  step = Stopwatch();
  const LockAttempt lock = store->TryLockBackfill(CurrentProcessHolder());
  s.lock = step.Millis();
  if (!lock.lock) throw std::runtime_error("the backfill lock of " + path + " is held");
  step = Stopwatch();
  if (store->FindUnfinishedRun()) throw std::runtime_error(path + " has an unfinished run");
  s.unfinished = step.Millis();
  const Scope scope{kTargetModel, false, false};
  step = Stopwatch();
  s.candidates = store->CountCandidates(scope).total();
  s.count = step.Millis();
  step = Stopwatch();
  s.page = store->ListCandidates(scope, Cursor{}, kPageSize).size();
  s.first_page = step.Millis();
  return s;
}

struct WholeRun {
  double first_record_ms = 0;
  double seconds = 0;
  int64_t queued = 0;
};

WholeRun TimeWholeRun(const std::string& path) {
  auto store = OpenStore(path);
  store->RequireCurrentSchema();
  BackfillOptions options;
  options.params = RunParams{kTargetModel, 1000000, false, false};
  options.params_explicit = true;
  BackfillEnvironment env;
  env.me = CurrentProcessHolder();
  WholeRun run;
  Stopwatch clock;
  env.stop_requested = [&] {
    if (run.first_record_ms == 0) run.first_record_ms = clock.Millis();
    return false;
  };
  const BackfillOutcome out = RunBackfill(*store, options, env);
  run.seconds = clock.Seconds();
  run.queued = out.queued_now;
  return run;
}

void PrintSteps(const char* label, const char* how, const StartSteps& s) {
  std::printf(
      "  %-4s %-5s start %7.1f ms = open %.1f + lock %.1f + unfinished %.1f + count %.1f"
      " (%lld) + first page %.1f (%zu ids)\n",
      label, how, s.Total(), s.open, s.lock, s.unfinished, s.count,
      static_cast<long long>(s.candidates), s.first_page, s.page);
}

struct Series {
  const char* label;
  std::string master;
  std::vector<double> start, first, whole;
  double cold = 0;
};

}  // namespace
}  // namespace imgbackfill::bench

int main(int argc, char** argv) {
  using namespace imgbackfill::bench;
  const BenchOptions options = ParseOptions(argc, argv);
  DisableHeapTrimming();
  QuietLibraryLogs();
  const int trials = options.trials > 0 ? options.trials : 2;
  const int64_t small = options.quick ? 100000 : 1000000;
  const int64_t large = options.quick ? 1000000 : 10000000;
  try {
    std::vector<Series> series = {
        {options.quick ? "100k" : "1M",
         EnsureCatalog(SparseCatalog(small, kCandidates), options.data_dir),
         {},
         {},
         {},
         0},
        {options.quick ? "1M" : "10M",
         EnsureCatalog(SparseCatalog(large, kCandidates), options.data_dir),
         {},
         {},
         {},
         0},
    };
    std::printf("start of a run and whole run, %lld candidates, %d warm trials per catalog\n",
                static_cast<long long>(kCandidates), trials);
    for (int i = 0; i < trials; ++i) {
      for (Series& s : series) {
        TrialCopy copy(s.master, options.data_dir, "start");
        const StartSteps steps = TimeStartSteps(copy.path());
        const WholeRun run = TimeWholeRun(copy.path());
        PrintSteps(s.label, "warm", steps);
        std::printf(
            "  %-4s RunBackfill: first record after %.1f ms; whole run %.2f s, %lld queued"
            " (%.0f/s); copy took %.1f s\n",
            s.label, run.first_record_ms, run.seconds, static_cast<long long>(run.queued),
            static_cast<double>(run.queued) / run.seconds, copy.copy_seconds());
        std::fflush(stdout);
        if (run.queued != kCandidates || steps.candidates != kCandidates) {
          std::printf("  WARNING: expected %lld candidates\n", static_cast<long long>(kCandidates));
        }
        s.start.push_back(steps.Total());
        s.first.push_back(run.first_record_ms);
        s.whole.push_back(run.seconds);
      }
    }
    for (Series& s : series) {
      TrialCopy copy(s.master, options.data_dir, "start-cold", /*drop_from_page_cache=*/true);
      const StartSteps steps = TimeStartSteps(copy.path());
      PrintSteps(s.label, "cold", steps);
      s.cold = steps.Total();
    }
    const Series& a = series[0];
    const Series& b = series[1];
    const double ratio = Median(b.whole) / Median(a.whole);
    std::printf(
        "medians: start %.1f ms (%s) vs %.1f ms (%s); first record %.1f vs %.1f ms; "
        "whole run %.2f vs %.2f s, %s/%s = %.2f; cold start %.1f vs %.1f ms\n\n",
        Median(a.start), a.label, Median(b.start), b.label, Median(a.first), Median(b.first),
        Median(a.whole), Median(b.whole), b.label, a.label, ratio, a.cold, b.cold);
    for (const Series& s : series) {
      const std::string what = std::string(s.label) + " images, 10k candidates";
      Summary("start_cost", "start (open+lock+count+page) ms, warm, " + what,
              Format("%.1f", Median(s.start)));
      Summary("start_cost", "start ms, cold page cache, " + what, Format("%.1f", s.cold));
      Summary("start_cost", "RunBackfill to first record ms, " + what,
              Format("%.1f", Median(s.first)));
      Summary("start_cost", "whole run s, " + what, Format("%.2f", Median(s.whole)));
    }
    Summary("start_cost", std::string("whole run ") + b.label + "/" + a.label,
            Format("%.2f", ratio));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_start_cost: %s\n", e.what());
    return 1;
  }
  return 0;
}
