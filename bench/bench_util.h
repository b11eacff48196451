// Small helpers shared by the benchmark programs: a stopwatch, the statistics
// a noisy shared machine calls for, command-line options, running a child
// process for its peak memory, and the "summary" lines bench/run.sh collects.
//
// The benchmarks measure and print; they assert nothing about time. A figure
// is only worth comparing with another measured in the same run.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace imgbackfill::bench {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  double Millis() const { return Seconds() * 1000.0; }

 private:
  std::chrono::steady_clock::time_point start_;
};

double Median(std::vector<double> values);
double Max(const std::vector<double>& values);
double Min(const std::vector<double>& values);

// What every benchmark program accepts:
//   --data-dir DIR   where generated catalogs are cached and trial copies made
//                    (default $IMGBACKFILL_BENCH_DIR, else /tmp/imgbackfill-bench)
//   --trials N       repetitions (or chunks) of each measurement; each program
//                    has its default
//   --quick          smaller catalogs and fewer trials, to check the programs run
struct BenchOptions {
  std::string data_dir;
  int trials = 0;  // 0: the program's default
  bool quick = false;
};
BenchOptions ParseOptions(int argc, char** argv);

// Runs `argv` (argv[0] a path) to completion with stdout and stderr sent to
// `log_path`, with `extra_env` ("NAME=value") added to this process's
// environment, and reports what the kernel accounted for it.
struct ChildResult {
  int exit_code = -1;  // -1 if a signal ended it
  double wall_seconds = 0;
  int64_t max_rss_kib = 0;  // ru_maxrss from wait4: the child's peak resident set
  double user_seconds = 0;  // the child's CPU time (all its threads), from wait4
  double system_seconds = 0;
};
ChildResult RunChild(const std::vector<std::string>& argv, const std::string& log_path,
                     const std::vector<std::string>& extra_env = {});

// glibc returns freed memory at the top of the heap to the kernel (brk)
// once it exceeds a threshold that grows with the largest block freed so far,
// so whether a loop of small allocations pays a brk per iteration depends on
// what the process freed before. The in-process benchmarks fix the threshold
// high, so their figures do not depend on that history; the real executable
// runs with glibc's default, and peak_rss measures it both ways.
void DisableHeapTrimming();
inline constexpr const char* kNoHeapTrimEnv = "MALLOC_TRIM_THRESHOLD_=1073741824";

// Prints one line that bench/run.sh gathers into its table:
//   summary<TAB>benchmark<TAB>figure<TAB>value
void Summary(const std::string& benchmark, const std::string& figure, const std::string& value);

// printf-style formatting into a std::string.
std::string Format(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Quiets the library's logging below errors (a progress line every 500
// records, the warning that a run was interrupted) so that only the
// benchmark's own output is printed.
void QuietLibraryLogs();

}  // namespace imgbackfill::bench
