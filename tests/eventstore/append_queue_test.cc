#include "eventstore/internal/append_queue.h"

#include "gtest/gtest.h"

namespace surge::eventstore::internal {
namespace {

PendingAppend Item(size_t bytes) {
  PendingAppend item;
  item.bytes = bytes;
  item.done = [](absl::StatusOr<AppendResult>) {};
  return item;
}

TEST(AppendQueueTest, RefusesWhenFullAndLeavesItemIntact) {
  AppendQueue queue(2);
  EXPECT_TRUE(queue.Push(Item(1)).ok());
  EXPECT_TRUE(queue.Push(Item(1)).ok());
  PendingAppend third = Item(1);
  EXPECT_EQ(queue.Push(std::move(third)).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(static_cast<bool>(third.done));  // still usable to answer the caller
  EXPECT_EQ(queue.size(), 2u);
}

TEST(AppendQueueTest, TakeBatchRespectsCountAndBytes) {
  AppendQueue queue(10);
  for (size_t bytes : {4, 4, 4, 20, 1}) ASSERT_TRUE(queue.Push(Item(bytes)).ok());
  EXPECT_EQ(queue.TakeBatch(2, 100).size(), 2u);
  EXPECT_EQ(queue.TakeBatch(10, 10).size(), 1u);  // 4, then 20 would exceed 10
  EXPECT_EQ(queue.TakeBatch(10, 10).size(), 1u);  // an oversized item still goes alone
  EXPECT_EQ(queue.TakeBatch(10, 10).size(), 1u);
  EXPECT_EQ(queue.size(), 0u);
}

TEST(AppendQueueTest, RefusesPastTheByteBudgetAndFreesItWhenTaken) {
  AppendQueue queue(100, 10);
  EXPECT_TRUE(queue.Push(Item(6)).ok());
  EXPECT_TRUE(queue.Push(Item(4)).ok());
  PendingAppend over = Item(1);
  EXPECT_EQ(queue.Push(std::move(over)).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(static_cast<bool>(over.done));
  EXPECT_EQ(queue.bytes(), 10u);
  EXPECT_EQ(queue.TakeBatch(1, 100).size(), 1u);  // frees 6
  EXPECT_EQ(queue.bytes(), 4u);
  EXPECT_TRUE(queue.Push(Item(6)).ok());
  EXPECT_EQ(queue.TakeBatch(10, 100).size(), 2u);
  // An append bigger than the whole budget still gets through an empty queue.
  EXPECT_TRUE(queue.Push(Item(50)).ok());
  EXPECT_EQ(queue.Push(Item(1)).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(queue.TakeBatch(10, 100).size(), 1u);
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(AppendQueueTest, CloseRefusesPushesButDrains) {
  AppendQueue queue(10);
  ASSERT_TRUE(queue.Push(Item(1)).ok());
  queue.Close();
  absl::Status refused = queue.Push(Item(1));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.message(), "store is closing");
  EXPECT_EQ(queue.TakeBatch(10, 100).size(), 1u);
  EXPECT_TRUE(queue.TakeBatch(10, 100).empty());  // closed and drained: no blocking
}

}  // namespace
}  // namespace surge::eventstore::internal
