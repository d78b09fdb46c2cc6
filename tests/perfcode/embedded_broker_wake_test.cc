// The embedded broker's ClusterWaker (kafka/embedded_broker.cc): while a mock
// cluster control call is pending, a helper thread connects to the brokers'
// listeners so librdkafka 2.0.2's cluster thread does not sleep out its 1 s
// poll. Regression tests for that stall (coarse time bounds, repeated so a
// 1 s step shows up) and for the thread's lifetime.
#include <dirent.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kafka/embedded_broker.h"

namespace surge::kafka {
namespace {

// Generous next to the ~60 ms measured, far below the 1 s stall.
constexpr absl::Duration kFast = absl::Milliseconds(500);

int ThreadCount() {
  int count = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.';
    closedir(dir);
  }
  return count;
}

// Waits (bounded) for this process's thread count to drop to `target`.
bool WaitForThreadCount(int target, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (ThreadCount() > target) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(EmbeddedBrokerWakeTest, TwelveTopicsAreCreatedWellUnderOneSecondEveryTime) {
  for (int round = 0; round < 10; ++round) {
    absl::Time start = absl::Now();
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status();
    EXPECT_LT(absl::Now() - start, kFast) << "round " << round << ": Start (6 topics)";

    start = absl::Now();
    for (int t = 0; t < 12; ++t) {
      absl::Status created = (*broker)->CreateTopic(absl::StrCat("wake-", round, "-", t), 6);
      ASSERT_TRUE(created.ok()) << created;
    }
    EXPECT_LT(absl::Now() - start, kFast) << "round " << round << ": 12 CreateTopic calls";
  }
}

TEST(EmbeddedBrokerWakeTest, ControlCallsStayFastWithABrokerDown) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  ASSERT_TRUE((*broker)->SetBrokerDown(2).ok());
  // The waker connects to every broker; the down one refuses, the others wake.
  const absl::Time start = absl::Now();
  for (int t = 0; t < 12; ++t) {
    ASSERT_TRUE((*broker)->CreateTopic(absl::StrCat("down-", t), 3).ok());
  }
  ASSERT_TRUE((*broker)->SetBrokerUp(2).ok());
  EXPECT_LT(absl::Now() - start, kFast);
}

TEST(EmbeddedBrokerWakeTest, WakerThreadEndsWithEachCallAndBrokerDestructionIsPrompt) {
  const int baseline = ThreadCount();
  {
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status();
    const int with_broker = ThreadCount();
    for (int t = 0; t < 12; ++t) {
      ASSERT_TRUE((*broker)->CreateTopic(absl::StrCat("life-", t), 1).ok());
      // The helper is joined before the call returns: no thread left behind.
      // Bounded wait, not an instant count: a CI run at 02739a9 saw a 6th
      // thread right after every other call (5 again after the next one),
      // a thread of librdkafka's that comes and goes; a waker never joined
      // would stay and still fail this.
      EXPECT_TRUE(WaitForThreadCount(with_broker, absl::Seconds(1)))
          << "after CreateTopic " << t << ": " << ThreadCount() << " threads, " << with_broker
          << " with the broker alone";
    }
    ASSERT_TRUE((*broker)->SetBrokerRtt(1, absl::ZeroDuration()).ok());
    EXPECT_TRUE(WaitForThreadCount(with_broker, absl::Seconds(1)))
        << "after SetBrokerRtt: " << ThreadCount() << " threads, " << with_broker;

    // Coarse: a destroy may still lose librdkafka's 1 s poll (see the
    // disabled test below); this catches a waker that is never joined.
    const absl::Time start = absl::Now();
    broker->reset();
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "destroying the broker";
  }
  // librdkafka's own threads may finish exiting just after the destructor.
  EXPECT_TRUE(WaitForThreadCount(baseline, absl::Seconds(5)))
      << ThreadCount() << " threads, " << baseline << " before the broker";
}

// Fails today: ~EmbeddedBroker destroys the mock cluster without a waker, and
// rd_kafka_mock_cluster_destroy() then loses the same wake-up as a control
// call (measured: 33 of 80 destroys took 1.0 s; with a ClusterWaker around
// the cluster's reset, 7 of 80). Enable once destruction is always prompt.
TEST(EmbeddedBrokerWakeTest, DISABLED_DestructionNeverWaitsOutTheOneSecondPoll) {
  for (int round = 0; round < 10; ++round) {
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status();
    const absl::Time start = absl::Now();
    broker->reset();
    EXPECT_LT(absl::Now() - start, kFast) << "round " << round << ": destroying the broker";
  }
}

}  // namespace
}  // namespace surge::kafka
