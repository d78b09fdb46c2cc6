// Starting and watching child processes in tests (surge-server,
// surge-kafka-dev, prometheus), shared by ServerProcess, the cluster
// harness and PrometheusProcess.
//
//   SURGE_ASSIGN_OR_RETURN(pid_t pid, SpawnLogged({binary, "--flag"}, log_path));
//   ...
//   int status = 0;
//   StopChild(pid, absl::Seconds(10), &status);  // SIGTERM, then SIGKILL; reaped
//
// A spawned child gets SIGKILL when the thread that spawned it ends, so a
// test runner killed on a timeout leaves no servers behind. Spawn from the
// thread that drives the test (gtest's), never from a short-lived helper
// thread.
#ifndef SURGE_TESTS_SUPPORT_CHILD_PROCESS_H_
#define SURGE_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace surge::testing {

struct SpawnOptions {
  // Working directory of the child; empty = the parent's.
  std::string chdir;
  // Look argv[0] up on PATH (execvp) instead of taking it as a path.
  bool search_path = false;
};

// Starts `argv` with stdout and stderr appended to `log_path` (created when
// missing), stdin from /dev/null, default signal handling, an empty signal
// mask, and SIGKILL on the spawning thread's end. An error when the binary
// cannot be started (it is not found, the log cannot be opened).
absl::StatusOr<pid_t> SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path,
                                  const SpawnOptions& options = {});

// SIGTERM, waits up to `grace` for the exit, then SIGKILL; always reaps.
// The wait status goes to `wait_status` when given. Returns true when the
// child exited within the grace period. No-op (true) for pid <= 0.
bool StopChild(pid_t pid, absl::Duration grace, int* wait_status = nullptr);

// "exited with code N" / "was killed by signal N".
std::string DescribeWaitStatus(int wait_status);

// The whole file ("" when unreadable) and its last `lines` lines.
std::string ReadFileOrEmpty(const std::string& path);
std::string LastLines(const std::string& text, int lines);

}  // namespace surge::testing

#endif  // SURGE_TESTS_SUPPORT_CHILD_PROCESS_H_
