// Every acknowledged append survives kill -9, and nothing is half-written.
// Forks eventstore_crash_child, reads its acknowledgements, SIGKILLs it, then
// reopens the store and checks the log. Three cycles on the same dir.
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_util.h"

namespace surge::eventstore {
namespace {

using testing::ScratchDir;

struct Ack {
  uint64_t first = 0;
  uint64_t last = 0;
  std::vector<std::string> event_ids;
};

// Runs the child until it has acknowledged at least `min_acks` appends,
// kills it, and returns every acknowledgement it wrote (key -> ack).
std::map<std::string, Ack> RunAndKill(const std::string& dir, int cycle, size_t min_acks) {
  std::map<std::string, Ack> acks;
  int fds[2];
  if (::pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return acks;
  }
  const std::string cycle_arg = absl::StrCat(cycle);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(EVENTSTORE_CRASH_CHILD, EVENTSTORE_CRASH_CHILD, dir.c_str(), cycle_arg.c_str(),
            static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(fds[1]);
  std::string buffer;
  auto parse_lines = [&] {
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      std::vector<std::string> parts = absl::StrSplit(buffer.substr(0, newline), ' ');
      buffer.erase(0, newline + 1);
      if (parts.size() != 5 || parts[0] != "ACK") {
        ADD_FAILURE() << "bad line from child";
        continue;
      }
      Ack ack;
      EXPECT_TRUE(absl::SimpleAtoi(parts[2], &ack.first));
      EXPECT_TRUE(absl::SimpleAtoi(parts[3], &ack.last));
      ack.event_ids = absl::StrSplit(parts[4], ',');
      acks[parts[1]] = ack;
    }
  };
  auto read_some = [&](int timeout_ms) {  // false on EOF, error or timeout
    pollfd pfd{fds[0], POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
    char chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    parse_lines();
    return true;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (acks.size() < min_acks && absl::Now() < deadline) {
    if (!read_some(200) && acks.size() < min_acks) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        ADD_FAILURE() << "child exited early with status " << status;
        ::close(fds[0]);
        return acks;
      }
    }
  }
  EXPECT_GE(acks.size(), min_acks) << "child too slow";
  ::kill(pid, SIGKILL);
  // Lines written before the kill are still in the pipe: they count too.
  while (read_some(5000)) {
  }
  ::close(fds[0]);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  return acks;
}

void VerifyLog(EventStore& store, const std::map<std::string, Ack>& acks) {
  const uint64_t head = store.HeadPosition();
  auto events = store.ReadAll(1, head + 1);  // every event parses, or this fails
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), head);
  std::map<std::string, std::vector<const v1::Event*>> by_request;
  for (size_t i = 0; i < events->size(); ++i) {
    const v1::Event& event = (*events)[i];
    ASSERT_EQ(event.position(), i + 1) << "positions not contiguous";
    by_request[event.request_id()].push_back(&event);
  }
  // All events of an append or none, contiguous.
  for (const auto& [request_id, group] : by_request) {
    int expected_count = 0;
    ASSERT_TRUE(absl::SimpleAtoi(group.front()->correlation_id(), &expected_count));
    ASSERT_EQ(group.size(), static_cast<size_t>(expected_count)) << request_id;
    EXPECT_EQ(group.back()->position() - group.front()->position() + 1, group.size());
  }
  for (const auto& [key, ack] : acks) {
    ASSERT_GE(ack.first, 1u);
    ASSERT_LE(ack.last, head) << "acknowledged append " << key << " lost";
    ASSERT_EQ(ack.event_ids.size(), ack.last - ack.first + 1);
    for (uint64_t p = ack.first; p <= ack.last; ++p) {
      const v1::Event& event = (*events)[p - 1];
      EXPECT_EQ(event.request_id(), key);
      EXPECT_EQ(event.event_id(), ack.event_ids[p - ack.first]);
    }
    auto stored = store.LookupIdempotencyKey(key);
    ASSERT_TRUE(stored.ok() && stored->has_value()) << key;
    EXPECT_EQ((*stored)->first_position, ack.first);
  }
}

TEST(DurabilityTest, AcknowledgedAppendsSurviveKillNine) {
  ScratchDir dir;
  std::map<std::string, Ack> all_acks;
  for (int cycle = 0; cycle < 3; ++cycle) {
    std::map<std::string, Ack> acks = RunAndKill(dir.data(), cycle, 300);
    ASSERT_FALSE(HasFailure());
    all_acks.insert(acks.begin(), acks.end());
    auto store = EventStore::Open(Options(), dir.data());
    ASSERT_TRUE(store.ok()) << store.status();
    VerifyLog(**store, all_acks);
    ASSERT_FALSE(HasFailure()) << "cycle " << cycle;
  }
}

}  // namespace
}  // namespace surge::eventstore
