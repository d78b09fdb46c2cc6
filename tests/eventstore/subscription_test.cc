// Live subscriptions: catch-up then tail, exactly once and in order.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_util.h"

namespace surge::eventstore {
namespace {

using testing::OneEvent;
using testing::ScratchDir;

TEST(SubscriptionTest, CatchUpThenLiveWithoutGapOrDuplicate) {
  ScratchDir dir;
  auto store = std::move(EventStore::Open(Options(), dir.data())).value();
  constexpr int kBefore = 300;
  for (int i = 0; i < kBefore; ++i) ASSERT_TRUE(store->Append(OneEvent("pre")).ok());

  constexpr int kWriters = 4;
  constexpr int kPerWriter = 250;
  constexpr uint64_t kTotal = kBefore + kWriters * kPerWriter;
  auto subscription = store->Subscribe(1);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        // Async appends too, so batches of several appends reach the tail.
        if (i % 2 == 0) {
          store->AppendAsync(OneEvent("w" + std::to_string(w)), [](auto) {});
        } else {
          ASSERT_TRUE(store->Append(OneEvent("w" + std::to_string(w))).ok());
        }
      }
    });
  }
  uint64_t expected = 1;
  // Fails only when no event arrives for 20 s (slow disks and sanitizer
  // builds make the writers slow, not the subscription wrong).
  absl::Time stall_deadline = absl::Now() + absl::Seconds(20);
  // Small chunks force many catch-up reads racing with the writers.
  while (expected <= kTotal && absl::Now() < stall_deadline) {
    auto events = subscription->Next(7, absl::Milliseconds(200));
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_LE(events->size(), 7u);
    if (!events->empty()) stall_deadline = absl::Now() + absl::Seconds(20);
    for (const v1::Event& event : *events) {
      ASSERT_EQ(event.position(), expected) << "gap or duplicate";
      ++expected;
    }
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(expected, kTotal + 1) << "subscription stalled";
  EXPECT_EQ(subscription->next_position(), kTotal + 1);
  auto none = subscription->Next(10, absl::Milliseconds(10));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SubscriptionTest, StartsFromGivenPosition) {
  ScratchDir dir;
  auto store = std::move(EventStore::Open(Options(), dir.data())).value();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Append(OneEvent("s")).ok());
  auto subscription = store->Subscribe(8);
  auto events = subscription->Next(100, absl::Seconds(5));
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ(events->front().position(), 8u);
}

TEST(SubscriptionTest, CancelWakesBlockedNext) {
  ScratchDir dir;
  auto store = std::move(EventStore::Open(Options(), dir.data())).value();
  auto subscription = store->Subscribe(1);
  std::thread canceller([&] {
    // Cancel only once Next is (very likely) blocked; the assertion below
    // holds either way.
    absl::SleepFor(absl::Milliseconds(20));
    subscription->Cancel();
  });
  const absl::Time start = absl::Now();
  auto events = subscription->Next(10, absl::Seconds(30));
  canceller.join();
  EXPECT_EQ(events.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(SubscriptionTest, StoreCloseCancelsSubscriptionThatOutlivesIt) {
  ScratchDir dir;
  auto store = std::move(EventStore::Open(Options(), dir.data())).value();
  ASSERT_TRUE(store->Append(OneEvent("s")).ok());
  auto subscription = store->Subscribe(1);
  absl::StatusOr<std::vector<v1::Event>> blocked;
  auto first = subscription->Next(10, absl::Seconds(5));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  std::thread waiter([&] { blocked = subscription->Next(10, absl::Seconds(30)); });
  store.reset();
  waiter.join();
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(subscription->Next(1, absl::Seconds(1)).status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace surge::eventstore
