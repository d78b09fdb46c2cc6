#include "server/internal/admission_ticker.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace surge::server::internal {
namespace {

// The ticker observes on its own, without commands or scrapes: it sees the
// pipeline start deciding and says so once.
TEST(AdmissionTickerTest, SaysOnceWhenThePipelineFirstDecides) {
  std::atomic<uint64_t> head{10};
  std::atomic<uint64_t> decided{10};
  Admission admission(
      {}, [&] { return head.load(); }, [&] { return decided.load(); });
  std::atomic<int> calls{0};
  absl::Notification deciding;
  AdmissionTicker::Options options;
  options.busy_interval = absl::Milliseconds(1);
  options.idle_interval = absl::Milliseconds(1);
  options.on_deciding = [&] {
    if (calls.fetch_add(1) == 0) deciding.Notify();
  };
  admission.Observe();  // the watermark at start: 10
  {
    AdmissionTicker ticker(admission, options);
    head = 20;
    decided = 20;
    ASSERT_TRUE(deciding.WaitForNotificationWithTimeout(absl::Seconds(10)))
        << "the ticker never reported the pipeline deciding";
    head = 30;
    decided = 30;
    ASSERT_EQ(admission.Observe().backlog_events, 0u);
  }  // stopped and joined: every call it made is counted
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace surge::server::internal
