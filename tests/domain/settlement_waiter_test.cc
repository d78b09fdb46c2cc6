#include "domain/settlement_waiter.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace surge::domain {
namespace {

TEST(SettlementWaiterTest, AnEarlierDeadlineAddedLaterIsStillAnsweredOnTime) {
  Notifier notifier;
  SettlementWaiter waiter(notifier);
  absl::Notification late_done, early_done;
  bool early_final = false;
  // The waiter thread goes to sleep until this far deadline...
  waiter.Add(absl::Now() + absl::Seconds(30), notifier.sequence(), [&](bool final) {
    if (final) late_done.Notify();
    return final;
  });
  // ...and must wake up for this one, which nothing else will notify.
  waiter.Add(absl::Now() + absl::Milliseconds(100), notifier.sequence(), [&](bool final) {
    early_final = final;
    if (final) early_done.Notify();
    return final;
  });
  ASSERT_TRUE(early_done.WaitForNotificationWithTimeout(absl::Seconds(10)))
      << "the earlier deadline was not honoured";
  EXPECT_TRUE(early_final);
  EXPECT_FALSE(late_done.HasBeenNotified());
}  // the destructor answers the remaining wait with final=true

TEST(SettlementWaiterTest, AChangeBetweenTheCallersCheckAndAddIsNotMissed) {
  Notifier notifier;
  SettlementWaiter waiter(notifier);
  const uint64_t seen = notifier.sequence();  // caller read, found "pending"
  notifier.Notify();                          // the projection settles it now
  absl::Notification rechecked;
  waiter.Add(absl::Now() + absl::Seconds(30), seen, [&](bool) {
    rechecked.Notify();
    return true;
  });
  EXPECT_TRUE(rechecked.WaitForNotificationWithTimeout(absl::Seconds(10)))
      << "a notification before Add() was lost";
}

TEST(SettlementWaiterTest, DestructorAnswersEveryPendingWait) {
  Notifier notifier;
  std::atomic<int> finals{0};
  {
    SettlementWaiter waiter(notifier);
    for (int i = 0; i < 10; ++i) {
      waiter.Add(absl::Now() + absl::Seconds(30), notifier.sequence(), [&](bool final) {
        if (final) ++finals;
        return final;
      });
    }
  }
  EXPECT_EQ(finals.load(), 10);
}

}  // namespace
}  // namespace surge::domain
