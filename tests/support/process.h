// Runs the real imgbackfill executable (or any program) as a child process,
// its stdout and stderr captured to files, so that tests see exactly what a
// user sees: the exit code and the messages.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace imgbackfill::testing {

struct ProcessResult {
  int exit_code = -1;   // when the process exited
  int term_signal = 0;  // when a signal ended it
  std::string out;
  std::string err;
};

class ChildProcess {
 public:
  // Starts `argv` (argv[0] is the program path) with extra environment
  // variables; output goes to files in `scratch`.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& scratch,
               const std::map<std::string, std::string>& env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Polls stderr until it contains `text`; false if the process ended or
  // `limit` passed first (a safety bound, not part of any assertion's timing).
  bool WaitForStderr(const std::string& text,
                     std::chrono::milliseconds limit = std::chrono::seconds(60));
  void Signal(int signal);
  ProcessResult Wait();
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  ProcessResult result_;
  std::filesystem::path out_path_, err_path_;
};

// Runs the command to completion.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {});

// Runs the imgbackfill executable under test with `args`.
ProcessResult RunImgbackfill(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env = {});
std::vector<std::string> ImgbackfillArgv(const std::vector<std::string>& args);

}  // namespace imgbackfill::testing
