#include "cluster/partition_state.h"

#include "gtest/gtest.h"

namespace surge::cluster {
namespace {

ChangelogBatch Record(int64_t epoch, int64_t base, int64_t next, const std::string& key,
                      const std::string& value) {
  ChangelogBatch record;
  record.set_epoch(epoch);
  record.set_base_offset(base);
  record.set_next_offset(next);
  StateWrite* w = record.add_writes();
  w->set_cf("rm_stock");
  w->set_key(key);
  w->set_value(value);
  return record;
}

TEST(PartitionStateTest, AppliesAChainOfRecords) {
  PartitionState state;
  EXPECT_TRUE(state.Apply(Record(1, 0, 5, "a", "1")));
  EXPECT_TRUE(state.Apply(Record(1, 5, 9, "a", "2")));
  EXPECT_EQ(state.next_offset(), 9);
  EXPECT_EQ(state.Get("rm_stock", "a"), "2");
}

TEST(PartitionStateTest, IgnoresARecordThatDoesNotExtendTheState) {
  // A zombie's late copy of a batch the new owner already wrote (it ends
  // where the state is, or before), and a record past a hole in the chain:
  // neither changes anything.
  PartitionState state;
  ASSERT_TRUE(state.Apply(Record(1, 0, 5, "a", "1")));
  ASSERT_TRUE(state.Apply(Record(2, 5, 9, "a", "2")));
  EXPECT_FALSE(state.Apply(Record(1, 5, 9, "a", "copy")));
  EXPECT_FALSE(state.Apply(Record(1, 5, 7, "a", "shorter")));
  EXPECT_FALSE(state.Apply(Record(1, 0, 5, "a", "old")));
  EXPECT_FALSE(state.Apply(Record(2, 10, 12, "a", "past a hole")));
  EXPECT_EQ(state.Get("rm_stock", "a"), "2");
  EXPECT_EQ(state.next_offset(), 9);
  // Its epoch is still seen: a new owner picks a higher one.
  EXPECT_EQ(state.max_epoch(), 2);
}

// Two writers of one partition: the member that was thrown out of the group
// (paused, or slow in a rebalance) finishes its batch 150->170 while the new
// owner, restored at 150, writes 150->200 and then 200->250. Readers that get
// the short record first must still follow the owner: before the chain rule
// took overlaps, they ignored 150->200 and every later record of the owner
// (base 200 != 170), and the partition's decisions never reached any read
// model again (issue 24's stranded coupon requests).
TEST(PartitionStateTest, JoinsTwoWritersBatchesOfDifferentLengths) {
  PartitionState state;
  ASSERT_TRUE(state.Apply(Record(1, 0, 150, "issued", "40")));
  // The zombie's batch: inputs 150..169 issue 5 more.
  EXPECT_TRUE(state.Apply(Record(1, 150, 170, "issued", "45")));
  // The owner's batch from the same base: inputs 150..199 issue 12 (the
  // same 5 first: deterministic), its rows as of offset 199.
  EXPECT_TRUE(state.Apply(Record(2, 150, 200, "issued", "52")));
  EXPECT_EQ(state.next_offset(), 200);
  EXPECT_TRUE(state.Apply(Record(2, 200, 250, "issued", "60")));
  EXPECT_EQ(state.next_offset(), 250);
  EXPECT_EQ(state.Get("rm_stock", "issued"), "60");
  // The zombie's next, late batch adds nothing now.
  EXPECT_FALSE(state.Apply(Record(1, 170, 190, "issued", "48")));
  EXPECT_EQ(state.Get("rm_stock", "issued"), "60");
}

TEST(PartitionStateTest, ExtendsChainCoversTheReachedOffsetAndGoesPast) {
  EXPECT_TRUE(ExtendsChain(0, Record(1, 0, 1, "a", "")));
  EXPECT_TRUE(ExtendsChain(170, Record(1, 150, 200, "a", "")));
  EXPECT_TRUE(ExtendsChain(150, Record(1, 150, 200, "a", "")));
  EXPECT_FALSE(ExtendsChain(200, Record(1, 150, 200, "a", "")));
  EXPECT_FALSE(ExtendsChain(149, Record(1, 150, 200, "a", "")));
  EXPECT_FALSE(ExtendsChain(5, Record(1, 5, 5, "a", "")));  // an empty range
}

TEST(PartitionStateTest, ACopyThatExtendsTheChainIsAppliedWhoeverWroteIt) {
  // Two owners during a handoff write the same (deterministic) change from
  // the same base; the first one counts, the second is ignored.
  PartitionState state;
  ASSERT_TRUE(state.Apply(Record(3, 0, 4, "a", "x")));
  EXPECT_TRUE(state.Apply(Record(2, 4, 8, "a", "y")));
  EXPECT_FALSE(state.Apply(Record(3, 4, 8, "a", "y")));
  EXPECT_EQ(state.Get("rm_stock", "a"), "y");
}

TEST(PartitionStateTest, DeletesRows) {
  PartitionState state;
  ASSERT_TRUE(state.Apply(Record(1, 0, 1, "a", "1")));
  ChangelogBatch del;
  del.set_base_offset(1);
  del.set_next_offset(2);
  StateWrite* w = del.add_writes();
  w->set_cf("rm_stock");
  w->set_key("a");
  w->set_deleted(true);
  ASSERT_TRUE(state.Apply(del));
  EXPECT_FALSE(state.Get("rm_stock", "a").has_value());
  EXPECT_EQ(state.size(), 0u);
}

TEST(BatchOverlayTest, ChildWritesReachTheParentOnlyWhenMerged) {
  PartitionState state;
  ASSERT_TRUE(state.Apply(Record(1, 0, 1, "a", "base")));
  BatchOverlay batch(&state);
  {
    BatchOverlay failed(&batch);
    failed.Put("rm_stock", "a", "from a failed handler");
  }  // dropped without MergeIntoParent
  EXPECT_EQ(*batch.Get("rm_stock", "a"), "base");
  BatchOverlay ok(&batch);
  ok.Put("rm_stock", "a", "new");
  ok.Delete("rm_stock", "b");
  EXPECT_EQ(*ok.Get("rm_stock", "a"), "new");
  ok.MergeIntoParent();
  EXPECT_EQ(*batch.Get("rm_stock", "a"), "new");
  ChangelogBatch record;
  batch.AppendWrites(record);
  ASSERT_EQ(record.writes_size(), 2);
  EXPECT_EQ(record.writes(0).key(), "a");
  EXPECT_TRUE(record.writes(1).deleted());
  // The state itself moves only when the record is applied.
  EXPECT_EQ(state.Get("rm_stock", "a"), "base");
}

TEST(MarkTest, RoundTrips) {
  EXPECT_EQ(DecodeMark(EncodeMark(0x0102030405060708ULL)), 0x0102030405060708ULL);
  EXPECT_EQ(DecodeMark(std::nullopt), 0u);
  EXPECT_EQ(DecodeMark(std::string("short")), 0u);
}

}  // namespace
}  // namespace surge::cluster
