#include "cluster/partition_state.h"

#include <optional>
#include <string>
#include <vector>

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

// A state of `rows` rows at input offset `next`, built from one record.
PartitionState StateWithRows(int rows, int64_t next) {
  ChangelogBatch record;
  record.set_epoch(1);
  record.set_base_offset(0);
  record.set_next_offset(next);
  for (int i = 0; i < rows; ++i) {
    StateWrite* w = record.add_writes();
    w->set_cf("rm_coupon_holdings");
    w->set_key("user-" + std::to_string(1000 + i));
    w->set_value(std::string(40, static_cast<char>('a' + i % 26)));
  }
  PartitionState state;
  EXPECT_TRUE(state.Apply(record));
  return state;
}

// Feeds chunks to an assembler at consecutive offsets from `offset`; the
// snapshot when the last one completed it.
std::optional<std::vector<ChangelogBatch>> Assemble(SnapshotAssembler& assembler,
                                                    const std::vector<ChangelogBatch>& chunks,
                                                    int64_t offset) {
  std::optional<std::vector<ChangelogBatch>> out;
  for (const ChangelogBatch& c : chunks) {
    if (assembler.Offer(c, offset++)) out = assembler.TakeComplete();
  }
  return out;
}

TEST(SnapshotTest, SplitsBelowTheChunkSizeAndRestoresTheSameState) {
  const PartitionState source = StateWithRows(500, 1200);
  const std::vector<ChangelogBatch> chunks = source.Snapshot("n1/2/1200/1", 2, "n1", 4096);
  ASSERT_GT(chunks.size(), 5u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].ByteSizeLong(), 4096u + 512) << "chunk " << i;
    EXPECT_EQ(chunks[i].snapshot().index(), static_cast<int32_t>(i));
    EXPECT_EQ(chunks[i].snapshot().count(), static_cast<int32_t>(chunks.size()));
    EXPECT_EQ(chunks[i].base_offset(), 1200);
    EXPECT_EQ(chunks[i].next_offset(), 1200);
  }
  SnapshotAssembler assembler;
  auto complete = Assemble(assembler, chunks, 77);
  ASSERT_TRUE(complete.has_value());
  EXPECT_EQ(assembler.complete_offset(), 77);
  PartitionState restored;
  ASSERT_TRUE(restored.ApplySnapshot(*complete));
  EXPECT_EQ(restored.next_offset(), 1200);
  EXPECT_EQ(restored.size(), 500u);
  EXPECT_EQ(restored.bytes(), source.bytes());
  EXPECT_EQ(restored.Get("rm_coupon_holdings", "user-1499"),
            source.Get("rm_coupon_holdings", "user-1499"));
  EXPECT_EQ(restored.max_epoch(), 2);
  // The chain goes on from the snapshot's offset.
  EXPECT_TRUE(restored.Apply(Record(3, 1200, 1300, "a", "1")));
  EXPECT_EQ(restored.next_offset(), 1300);
}

TEST(SnapshotTest, AnEmptyStateIsOneChunk) {
  PartitionState empty;
  const std::vector<ChangelogBatch> chunks = empty.Snapshot("id", 1, "n1", 1024);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].writes_size(), 0);
}

// A zombie that lost its partition snapshots its state at 150 after the
// owner reached 200: a reader at 200 (or past it) ignores it, as it ignores
// the zombie's records; a reader that reached less takes it (the state at
// 150 is exact, whoever took it).
TEST(SnapshotTest, AZombiesLateSnapshotDoesNotMoveAStateThatReachedFurther) {
  PartitionState zombie = StateWithRows(3, 150);
  SnapshotAssembler assembler;
  auto late = Assemble(assembler, zombie.Snapshot("zombie/1/150/1", 1, "zombie", 1 << 20), 900);
  ASSERT_TRUE(late.has_value());

  PartitionState owner = StateWithRows(3, 150);
  ASSERT_TRUE(owner.Apply(Record(2, 150, 200, "rm_campaigns", "owner")));
  EXPECT_FALSE(owner.ApplySnapshot(*late));
  EXPECT_EQ(owner.next_offset(), 200);
  EXPECT_EQ(owner.Get("rm_stock", "rm_campaigns"), "owner");

  PartitionState behind = StateWithRows(1, 100);
  EXPECT_TRUE(behind.ApplySnapshot(*late));
  EXPECT_EQ(behind.next_offset(), 150);
  EXPECT_EQ(behind.size(), 3u);
  // Equal offsets: nothing to gain.
  EXPECT_FALSE(behind.ApplySnapshot(*late));
}

TEST(SnapshotTest, OnlyAWholeSnapshotInOrderCompletes) {
  const std::vector<ChangelogBatch> chunks =
      StateWithRows(300, 10).Snapshot("s", 1, "n1", 2048);
  ASSERT_GE(chunks.size(), 3u);
  {
    // Its first chunk was deleted by retention.
    SnapshotAssembler assembler;
    std::vector<ChangelogBatch> tail(chunks.begin() + 1, chunks.end());
    EXPECT_FALSE(Assemble(assembler, tail, 0).has_value());
  }
  {
    // A chunk is missing.
    SnapshotAssembler assembler;
    std::vector<ChangelogBatch> holed = chunks;
    holed.erase(holed.begin() + 1);
    EXPECT_FALSE(Assemble(assembler, holed, 0).has_value());
  }
  {
    // Another writer's records, and the chunks of a snapshot that never
    // completes (its writer died), between them do not matter; the first
    // chunk's offset is the pointer.
    const std::vector<ChangelogBatch> other =
        StateWithRows(300, 12).Snapshot("other", 2, "n2", 2048);
    SnapshotAssembler assembler;
    int64_t offset = 40;
    std::optional<std::vector<ChangelogBatch>> complete;
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (assembler.Offer(chunks[i], offset++)) complete = assembler.TakeComplete();
      if (i + 1 < other.size()) EXPECT_FALSE(assembler.Offer(other[i], offset++));
      offset++;  // a record
    }
    ASSERT_TRUE(complete.has_value());
    EXPECT_EQ(complete->size(), chunks.size());
    EXPECT_EQ(assembler.complete_offset(), 40);
  }
}

// A row for the read models only (a rejected coupon request): views get it
// in the record, the state forgets the key, so snapshots stay bounded.
TEST(SnapshotTest, ViewOnlyRowsStayOutOfTheStateAndItsSnapshots) {
  PartitionState state;
  BatchOverlay overlay(&state);
  overlay.Put("rm_coupon_requests", "issued-1", "ISSUED");
  overlay.PutReadModel("rm_coupon_requests", "rejected-1", "REJECTED");
  // Seen by later reads of the same batch.
  EXPECT_EQ(*overlay.Get("rm_coupon_requests", "rejected-1"), "REJECTED");
  ChangelogBatch record;
  record.set_base_offset(0);
  record.set_next_offset(2);
  overlay.AppendWrites(record);
  ASSERT_EQ(record.writes_size(), 2);
  EXPECT_FALSE(record.writes(0).view_only());
  EXPECT_TRUE(record.writes(1).view_only());
  ASSERT_TRUE(state.Apply(record));
  EXPECT_EQ(state.Get("rm_coupon_requests", "issued-1"), "ISSUED");
  EXPECT_EQ(state.Get("rm_coupon_requests", "rejected-1"), std::nullopt);
  EXPECT_EQ(state.size(), 1u);
  const std::vector<ChangelogBatch> chunks = state.Snapshot("s", 1, "n1", 1 << 20);
  ASSERT_EQ(chunks.size(), 1u);
  ASSERT_EQ(chunks[0].writes_size(), 1);
  EXPECT_EQ(chunks[0].writes(0).key(), "issued-1");
}

TEST(MarkTest, RoundTrips) {
  EXPECT_EQ(DecodeMark(EncodeMark(0x0102030405060708ULL)), 0x0102030405060708ULL);
  EXPECT_EQ(DecodeMark(std::nullopt), 0u);
  EXPECT_EQ(DecodeMark(std::string("short")), 0u);
}

}  // namespace
}  // namespace surge::cluster
