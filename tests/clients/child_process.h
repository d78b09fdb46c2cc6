// Runs a program (surge-cli, python3) as a child process for the client
// tests, capturing stdout and stderr, with bounded waits:
//
//   RunResult r = RunProcess({cli, "order", "get", "o-1"});
//   EXPECT_EQ(r.exit_code, 1) << r.err;
//
//   auto tail = ChildProcess::Start({cli, "events", "tail"});
//   ASSERT_TRUE(tail->WaitForStdout("OrderPlaced", absl::Seconds(10))) << tail->out();
//   tail->Signal(SIGTERM);
//   EXPECT_EQ(tail->Wait(absl::Seconds(10)), 0);
//
// Thread-safe: reader threads fill the buffers under a mutex.
#ifndef SURGE_TESTS_CLIENTS_CHILD_PROCESS_H_
#define SURGE_TESTS_CLIENTS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge::testing {

struct RunResult {
  int exit_code = -1;  // -1: killed because it overran its time, or died by a signal
  std::string out;
  std::string err;
};

class ChildProcess {
 public:
  // Starts argv[0] (a path) with the current environment plus `env`
  // (a value of std::nullopt removes the variable). Aborts the test binary
  // with a message when the program cannot be started.
  static std::unique_ptr<ChildProcess> Start(
      const std::vector<std::string>& argv,
      const std::map<std::string, std::optional<std::string>>& env = {});
  ~ChildProcess();  // SIGKILLs a child still running, joins the readers

  // True once stdout contains `needle`; false after `timeout`.
  bool WaitForStdout(const std::string& needle, absl::Duration timeout);
  bool WaitForStderr(const std::string& needle, absl::Duration timeout);
  void Signal(int sig);
  // Exit code, or -1 when it died by a signal or was killed after `timeout`.
  int Wait(absl::Duration timeout);

  std::string out();
  std::string err();

 private:
  ChildProcess() = default;
  void ReadLoop(int fd, std::string* buffer);
  bool WaitFor(const std::string* buffer, const std::string& needle, absl::Duration timeout);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  absl::Mutex mu_;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
  int open_streams_ ABSL_GUARDED_BY(mu_) = 2;
  std::thread out_reader_;
  std::thread err_reader_;
};

// Starts, waits (killing it after `timeout`) and returns its output.
RunResult RunProcess(const std::vector<std::string>& argv,
                     const std::map<std::string, std::optional<std::string>>& env = {},
                     absl::Duration timeout = absl::Seconds(60));

}  // namespace surge::testing

#endif  // SURGE_TESTS_CLIENTS_CHILD_PROCESS_H_
