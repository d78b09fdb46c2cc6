// surge-kafka-dev as its own process: prints a bootstrap, serves kcat, exits
// cleanly on SIGTERM.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kafka/topics.h"

namespace surge::kafka {
namespace {

// Reads one line from `fd` before `deadline`; empty on timeout or EOF.
std::string ReadLine(int fd, absl::Time deadline) {
  std::string line;
  while (absl::Now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    const int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(&pfd, 1, ms > 0 ? ms : 0) <= 0) continue;
    char c = 0;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line.push_back(c);
  }
  return "";
}

// Waits for `pid` to exit before `deadline`; returns its wait status or -1.
int WaitExit(pid_t pid, absl::Time deadline) {
  int status = 0;
  while (absl::Now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    absl::SleepFor(absl::Milliseconds(10));  // polling a child's exit
  }
  return -1;
}

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

TEST(DevBrokerTest, PrintsBootstrapServesKcatAndExitsOnSigterm) {
  if (system("command -v kcat >/dev/null 2>&1") != 0) GTEST_SKIP() << "kcat not installed";
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(SURGE_KAFKA_DEV_PATH, SURGE_KAFKA_DEV_PATH, "--brokers=2", "--partitions=3",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string line = ReadLine(out[0], absl::Now() + absl::Seconds(10));
  absl::string_view bootstrap(line);
  const bool printed = absl::ConsumePrefix(&bootstrap, "bootstrap=");
  if (!printed) kill(pid, SIGKILL);
  ASSERT_TRUE(printed) << "got \"" << line << "\"";
  ASSERT_FALSE(bootstrap.empty());

  const std::string listing =
      RunCommand(absl::StrCat("timeout 20 kcat -m 10 -b '", bootstrap, "' -L 2>&1"));
  for (const std::string& topic : EventTopics()) {
    EXPECT_TRUE(absl::StrContains(listing, absl::StrCat("topic \"", topic, "\" with 3 partitions")))
        << listing;
    EXPECT_TRUE(absl::StrContains(listing, absl::StrCat("topic \"", DeadLetterTopic(topic), "\"")))
        << listing;
  }
  EXPECT_TRUE(absl::StrContains(listing, " 2 brokers:")) << listing;

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  const int status = WaitExit(pid, absl::Now() + absl::Seconds(10));
  if (status == -1) kill(pid, SIGKILL);
  ASSERT_NE(status, -1) << "surge-kafka-dev did not exit on SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  close(out[0]);
}

}  // namespace
}  // namespace surge::kafka
