// Figure 3: peak memory of the real `imgbackfill run`, spawned as a user runs
// it (log lines to a file, no terminal) and reaped with wait4, whose
// ru_maxrss is the child's peak resident set. The same 10,000 candidates are
// queued from a 1M-image and a 10M-image sparse catalog, alternating, each on
// a fresh copy; `--version` gives the floor of the process itself, and a
// dense 100k catalog with --limit 20000 the executable's enqueue rate.
// Each run is made twice: as users run it (glibc's default heap trimming) and
// with MALLOC_TRIM_THRESHOLD_ set high, which shows what a brk per record
// costs on this machine (see DisableHeapTrimming).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "catalog_gen.h"
#include "raw_sqlite.h"

namespace imgbackfill::bench {
namespace {

struct Case {
  std::string label;
  std::string master;
  int64_t limit = 0;
  int64_t expect_queued = 0;
  std::vector<double> rss_mib[2], seconds[2];  // [0]: default, [1]: no heap trimming
};

int64_t QueuedJobs(const std::string& path) {
  RawDatabase db(path, SQLITE_OPEN_READONLY);
  RawStatement st(db.get(), "SELECT count(*) FROM jobs WHERE state = 'available'");
  st.Step();
  return sqlite3_column_int64(st.get(), 0);
}

double Mib(int64_t kib) { return static_cast<double>(kib) / 1024.0; }

// This process's peak resident set since its last exec (VmHWM), in KiB.
int64_t OwnPeakKib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  int64_t kib = 0;
  while (status >> key) {
    if (key == "VmHWM:") {
      status >> kib;
      break;
    }
  }
  return kib;
}

// When a child execs, Linux folds the high-water RSS of the memory it
// leaves into the child's ru_maxrss, and a posix_spawn child leaves its
// parent's (glibc spawns with CLONE_VM). So after this process generated a
// catalog (about 1.2 GiB for 10M images) every child reported 1.2 GiB. With
// the catalogs now cached, a fresh image of this program stays small.
void ReexecIfLarge(char** argv) {
  constexpr const char* kGuard = "IMGBACKFILL_BENCH_PEAK_RSS_REEXEC";
  const int64_t peak_kib = OwnPeakKib();
  if (peak_kib < 64 * 1024 || std::getenv(kGuard) != nullptr) return;
  std::printf(
      "(this process reached %.0f MiB generating catalogs: starting afresh, so that "
      "the children's peak RSS is their own)\n",
      Mib(peak_kib));
  std::fflush(stdout);
  setenv(kGuard, "1", 1);
  execv("/proc/self/exe", argv);
  std::perror("execv /proc/self/exe");
}

}  // namespace
}  // namespace imgbackfill::bench

int main(int argc, char** argv) {
  using namespace imgbackfill::bench;
  const BenchOptions options = ParseOptions(argc, argv);
  DisableHeapTrimming();  // this process only (catalog generation); not the child
  const int trials = options.trials > 0 ? options.trials : 1;
  const std::string binary = IMGBACKFILL_BINARY;
  try {
    const std::string log = options.data_dir + "/peak-rss-run.log";
    std::vector<Case> cases;
    if (options.quick) {
      cases.push_back({"100k sparse",
                       EnsureCatalog(SparseCatalog(100000, 10000), options.data_dir),
                       1000000,
                       10000,
                       {},
                       {}});
      cases.push_back({"1M sparse",
                       EnsureCatalog(SparseCatalog(1000000, 10000), options.data_dir),
                       1000000,
                       10000,
                       {},
                       {}});
    } else {
      cases.push_back({"1M sparse",
                       EnsureCatalog(SparseCatalog(1000000, 10000), options.data_dir),
                       1000000,
                       10000,
                       {},
                       {}});
      cases.push_back({"10M sparse",
                       EnsureCatalog(SparseCatalog(10000000, 10000), options.data_dir),
                       1000000,
                       10000,
                       {},
                       {}});
    }
    cases.push_back({"100k dense",
                     EnsureCatalog(DenseCatalog(100000), options.data_dir),
                     20000,
                     20000,
                     {},
                     {}});

    ReexecIfLarge(argv);
    const ChildResult floor = RunChild({binary, "--version"}, log);
    std::printf("imgbackfill --version: peak RSS %.1f MiB\n", Mib(floor.max_rss_kib));
    for (int i = 0; i < trials; ++i) {
      for (Case& c : cases) {
        for (int mode : {0, 1}) {
          TrialCopy copy(c.master, options.data_dir, "rss");
          const ChildResult r = RunChild(
              {binary, "--db", copy.path(), "--log-format", "text", "run", "--limit",
               std::to_string(c.limit)},
              log,
              mode == 1 ? std::vector<std::string>{kNoHeapTrimEnv} : std::vector<std::string>{});
          const int64_t queued = QueuedJobs(copy.path());
          std::printf(
              "  %-11s run --limit %-7lld %-12s exit %d, %lld queued in %.2f s "
              "(%.0f/s), peak RSS %.1f MiB\n",
              c.label.c_str(), static_cast<long long>(c.limit),
              mode == 1 ? "(no trim):" : "(default):", r.exit_code, static_cast<long long>(queued),
              r.wall_seconds, static_cast<double>(queued) / r.wall_seconds, Mib(r.max_rss_kib));
          std::fflush(stdout);
          if (r.exit_code != 0 || queued != c.expect_queued) {
            std::printf("  WARNING: expected exit 0 and %lld queued; see %s\n",
                        static_cast<long long>(c.expect_queued), log.c_str());
          }
          c.rss_mib[mode].push_back(Mib(r.max_rss_kib));
          c.seconds[mode].push_back(r.wall_seconds);
        }
      }
    }
    std::printf("\n");
    Summary("peak_rss", "imgbackfill --version peak RSS MiB",
            Format("%.1f", Mib(floor.max_rss_kib)));
    for (const Case& c : cases) {
      const std::string what = c.label + ", " + std::to_string(c.expect_queued) + " queued";
      Summary("peak_rss", "run peak RSS MiB (max of trials), " + what,
              Format("%.1f", Max(c.rss_mib[0])));
      Summary("peak_rss", "run wall s (median), " + what, Format("%.2f", Median(c.seconds[0])));
      Summary("peak_rss", "run wall s, no heap trimming, " + what,
              Format("%.2f (RSS %.1f MiB)", Median(c.seconds[1]), Max(c.rss_mib[1])));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_peak_rss: %s\n", e.what());
    return 1;
  }
  return 0;
}
