#include "kafka/produce_watch.h"

#include <thread>

#include "gtest/gtest.h"

namespace surge::kafka {
namespace {

TEST(ProduceWatchTest, NothingProducedIsCaughtUp) {
  ProduceWatch watch;
  EXPECT_TRUE(watch.CaughtUp(watch.Take("t"), "t", {}));
}

TEST(ProduceWatchTest, InFlightIsNeverCaughtUp) {
  ProduceWatch watch;
  watch.OnProduced("t");
  EXPECT_FALSE(watch.CaughtUp(watch.Take("t"), "t", {{0, 100}}));
  watch.OnDelivered("t", 0, 7);
  EXPECT_TRUE(watch.CaughtUp(watch.Take("t"), "t", {{0, 8}}));
}

TEST(ProduceWatchTest, CaughtUpOnlyPastTheHighestDeliveredOffsetOfEveryPartition) {
  ProduceWatch watch;
  for (int i = 0; i < 3; ++i) watch.OnProduced("t");
  watch.OnDelivered("t", 0, 4);
  watch.OnDelivered("t", 0, 3);  // reports may come out of order
  watch.OnDelivered("t", 2, 0);
  const ProduceWatch::Ticket ticket = watch.Take("t");
  EXPECT_FALSE(watch.CaughtUp(ticket, "t", {{0, 4}, {2, 1}}));  // offset 4 not consumed
  EXPECT_FALSE(watch.CaughtUp(ticket, "t", {{0, 5}}));          // partition 2 never consumed
  EXPECT_FALSE(watch.CaughtUp(ticket, "t", {{0, 5}, {2, -1}}));
  EXPECT_TRUE(watch.CaughtUp(ticket, "t", {{0, 5}, {1, -1}, {2, 1}}));
}

TEST(ProduceWatchTest, TopicsAreIndependent) {
  ProduceWatch watch;
  watch.OnProduced("a");  // in flight on a
  EXPECT_FALSE(watch.CaughtUp(watch.Take("a"), "a", {}));
  EXPECT_TRUE(watch.CaughtUp(watch.Take("b"), "b", {}));
  EXPECT_FALSE(watch.AwaitProduced(watch.Take("b"), "b", absl::Now()));
}

TEST(ProduceWatchTest, AProduceAfterTheTicketIsNotCaughtUpAndWakesTheWaiter) {
  ProduceWatch watch;
  const ProduceWatch::Ticket ticket = watch.Take("t");
  watch.OnProduced("t");
  watch.OnDelivered("t", 0, 0);
  // Everything delivered is consumed, but the ticket predates the produce.
  EXPECT_FALSE(watch.CaughtUp(ticket, "t", {{0, 1}}));
  EXPECT_TRUE(watch.AwaitProduced(ticket, "t", absl::Now()));
}

TEST(ProduceWatchTest, AwaitProducedReturnsWhenAnotherThreadProduces) {
  ProduceWatch watch;
  const ProduceWatch::Ticket ticket = watch.Take("t");
  std::thread producer([&] { watch.OnProduced("t"); });
  EXPECT_TRUE(watch.AwaitProduced(ticket, "t", absl::Now() + absl::Seconds(30)));
  producer.join();
}

TEST(ProduceWatchTest, AwaitProducedTimesOut) {
  ProduceWatch watch;
  EXPECT_FALSE(watch.AwaitProduced(watch.Take("t"), "t", absl::Now() + absl::Milliseconds(5)));
}

TEST(ProduceWatchTest, AFailedMessageLeavesNothingInFlight) {
  ProduceWatch watch;
  watch.OnProduced("t");
  watch.OnFailed("t");
  EXPECT_TRUE(watch.CaughtUp(watch.Take("t"), "t", {}));
}

}  // namespace
}  // namespace surge::kafka
