#include "tests/support/child_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

// Waits (bounded) for `pid` to end; its wait status, or nullopt at the deadline.
std::optional<int> WaitForExit(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (absl::Now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    absl::SleepFor(absl::Milliseconds(10));  // polling a child's exit
  }
  return std::nullopt;
}

TEST(ChildProcessTest, OutputGoesToTheLogAndTheExitCodeIsKept) {
  TempDir dir;
  const std::string log = dir.Path("child.log");
  absl::StatusOr<pid_t> pid =
      SpawnLogged({"/bin/sh", "-c", "echo out; echo err >&2; pwd; exit 3"}, log, {.chdir = "/"});
  ASSERT_TRUE(pid.ok()) << pid.status();
  std::optional<int> status = WaitForExit(*pid, absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << "the child did not exit";
  EXPECT_EQ(DescribeWaitStatus(*status), "exited with code 3");
  EXPECT_EQ(ReadFileOrEmpty(log), "out\nerr\n/\n");
  EXPECT_EQ(LastLines("a\nb\nc", 2), "b\nc");
}

TEST(ChildProcessTest, AMissingBinaryIsAnErrorNotAChild) {
  TempDir dir;
  absl::StatusOr<pid_t> pid = SpawnLogged({"/nonexistent/surge-nothing"}, dir.Path("log"));
  ASSERT_FALSE(pid.ok());
  EXPECT_TRUE(absl::StrContains(pid.status().message(), "No such file")) << pid.status();
  absl::StatusOr<pid_t> searched =
      SpawnLogged({"surge-no-such-binary"}, dir.Path("log"), {.search_path = true});
  EXPECT_FALSE(searched.ok());
}

TEST(ChildProcessTest, StopChildTerminatesAndReaps) {
  TempDir dir;
  absl::StatusOr<pid_t> pid = SpawnLogged({"sleep", "60"}, dir.Path("log"), {.search_path = true});
  ASSERT_TRUE(pid.ok()) << pid.status();
  int status = 0;
  EXPECT_TRUE(StopChild(*pid, absl::Seconds(10), &status));
  EXPECT_EQ(DescribeWaitStatus(status), "was killed by signal 15");
  EXPECT_EQ(::kill(*pid, 0), -1) << "the child was not reaped";
}

// The reason for spawning by fork: a child must not outlive the test
// runner that started it (a runner killed on a timeout left servers
// running). When the spawning thread ends, the child gets SIGKILL.
TEST(ChildProcessTest, ChildDiesWithTheThreadThatSpawnedIt) {
  TempDir dir;
  absl::StatusOr<pid_t> pid;
  std::thread spawner(
      [&] { pid = SpawnLogged({"sleep", "60"}, dir.Path("log"), {.search_path = true}); });
  spawner.join();
  ASSERT_TRUE(pid.ok()) << pid.status();
  std::optional<int> status = WaitForExit(*pid, absl::Seconds(10));
  if (!status.has_value()) StopChild(*pid, absl::Seconds(1));
  ASSERT_TRUE(status.has_value()) << "the child outlived the thread that spawned it";
  EXPECT_EQ(DescribeWaitStatus(*status), "was killed by signal 9");
}

}  // namespace
}  // namespace surge::testing
