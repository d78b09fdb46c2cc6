#include "kafka/internal/progress.h"

#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "kafka/internal/applied_positions.h"

namespace surge::kafka::internal {
namespace {

TEST(DeliveredTrackerTest, AdvancesOnlyOverContiguousDeliveries) {
  DeliveredTracker tracker(10);
  EXPECT_TRUE(tracker.IsDelivered(10));
  tracker.MarkDelivered(12);
  tracker.MarkDelivered(13);
  EXPECT_EQ(tracker.mark(), 10u);
  EXPECT_TRUE(tracker.IsDelivered(12));
  EXPECT_FALSE(tracker.IsDelivered(11));
  tracker.MarkDelivered(11);
  EXPECT_EQ(tracker.mark(), 13u);
  tracker.MarkDelivered(5);  // old duplicate
  tracker.MarkDelivered(13);
  EXPECT_EQ(tracker.mark(), 13u);
}

TEST(WatermarkTrackerTest, LowWatermarkIsBelowSmallestUnappliedProduced) {
  WatermarkTracker tracker(2);
  EXPECT_EQ(tracker.LowWatermark(1), 0u);
  tracker.OnProduced(0, 1);
  tracker.OnProduced(1, 2);
  tracker.OnProduced(0, 3);
  EXPECT_EQ(tracker.LowWatermark(4), 0u);
  tracker.OnApplied(1, 2);  // slot 1 done; slot 0 still holds 1
  EXPECT_EQ(tracker.LowWatermark(4), 0u);
  tracker.OnApplied(0, 1);
  EXPECT_EQ(tracker.LowWatermark(4), 2u);
  EXPECT_EQ(tracker.unapplied(), 1u);
  tracker.OnApplied(0, 3);
  EXPECT_EQ(tracker.LowWatermark(4), 3u);  // nothing unapplied: cursor - 1
  EXPECT_EQ(tracker.unapplied(), 0u);
}

TEST(WatermarkTrackerTest, RewindForgetsPositionsAtOrAboveTarget) {
  WatermarkTracker tracker(2);
  for (uint64_t p = 1; p <= 6; ++p) tracker.OnProduced(p % 2, p);
  tracker.Rewind(4);
  EXPECT_EQ(tracker.unapplied(), 3u);
  tracker.OnApplied(0, 2);
  tracker.OnApplied(1, 3);
  EXPECT_EQ(tracker.LowWatermark(4), 3u);
}

std::pair<std::string, std::string> Row(const std::string& key, uint64_t value) {
  return {key, eventstore::EncodeBigEndian64(value)};
}

TEST(AppliedPositionsTest, TakesSlowestProjectionAndZeroForMissingPartitions) {
  const std::vector<std::string> topics = {"surge.orders", "surge.stock"};
  std::vector<uint64_t> lowest = LowestAppliedPositions({Row("applied/saga/surge.orders/0", 10),
                                                         Row("applied/saga/surge.orders/1", 20),
                                                         Row("applied/audit/surge.orders/0", 5),
                                                         Row("applied/stock/surge.stock/1", 7),
                                                         Row("applied/stock/surge.unknown/1", 99),
                                                         Row("applied/stock/surge.stock/9", 99),
                                                         Row("applied/garbage", 99),
                                                         {"applied/stock/surge.stock/0", "short"}},
                                                        topics, 2);
  // orders/0: min(saga 10, audit 5); orders/1: min(saga 20, audit missing=0).
  // stock/0: the only row is malformed, so the stock projection has 0 there.
  EXPECT_EQ(lowest, (std::vector<uint64_t>{5, 0, 0, 7}));
}

TEST(AppliedPositionsTest, TopicWithoutCheckpointsIsZero) {
  EXPECT_EQ(LowestAppliedPositions({}, {"a", "b"}, 2), (std::vector<uint64_t>{0, 0, 0, 0}));
}

}  // namespace
}  // namespace surge::kafka::internal
