#include "bench_util.h"

#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace imgbackfill::bench {

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

double Max(const std::vector<double>& values) {
  return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

double Min(const std::vector<double>& values) {
  return values.empty() ? 0 : *std::min_element(values.begin(), values.end());
}

BenchOptions ParseOptions(int argc, char** argv) {
  BenchOptions options;
  const char* env_dir = std::getenv("IMGBACKFILL_BENCH_DIR");
  options.data_dir = env_dir != nullptr && *env_dir != '\0' ? env_dir : "/tmp/imgbackfill-bench";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--data-dir" && i + 1 < argc) {
      options.data_dir = argv[++i];
    } else if (arg == "--trials" && i + 1 < argc) {
      options.trials = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--quick") {
      options.quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--data-dir DIR] [--trials N] [--quick]\n", argv[0]);
      std::exit(2);
    }
  }
  return options;
}

ChildResult RunChild(const std::vector<std::string>& argv, const std::string& log_path,
                     const std::vector<std::string>& extra_env) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const std::string& e : extra_env) env.push_back(const_cast<char*>(e.c_str()));
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);

  Stopwatch clock;
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR)
      throw std::runtime_error("wait4 failed: " + std::string(std::strerror(errno)));
  }
  ChildResult result;
  result.wall_seconds = clock.Seconds();
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.max_rss_kib = usage.ru_maxrss;  // Linux reports kibibytes
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  result.user_seconds = seconds(usage.ru_utime);
  result.system_seconds = seconds(usage.ru_stime);
  return result;
}

void Summary(const std::string& benchmark, const std::string& figure, const std::string& value) {
  std::printf("summary\t%s\t%s\t%s\n", benchmark.c_str(), figure.c_str(), value.c_str());
  std::fflush(stdout);
}

std::string Format(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int size = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string text(static_cast<size_t>(std::max(size, 0)), '\0');
  std::vsnprintf(text.data(), text.size() + 1, format, args);
  va_end(args);
  return text;
}

void DisableHeapTrimming() { ::mallopt(M_TRIM_THRESHOLD, 1 << 30); }

void QuietLibraryLogs() { spdlog::set_level(spdlog::level::err); }

}  // namespace imgbackfill::bench
