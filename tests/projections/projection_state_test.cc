#include "projections/projection_state.h"

#include "gtest/gtest.h"

namespace surge::projections {
namespace {

TEST(OverlayStateTest, ReadsItsOwnWritesBeforeCommit) {
  InMemoryStateStore base;
  base.Apply({{"cf", "a", "base-a"}, {"cf", "b", "base-b"}});
  OverlayState state(&base);
  state.Put("cf", "a", "new-a");
  state.Delete("cf", "b");
  EXPECT_EQ(state.Get("cf", "a")->value_or(""), "new-a");
  EXPECT_FALSE(state.Get("cf", "b")->has_value());
  EXPECT_EQ(base.Get("cf", "a")->value_or(""), "base-a");  // nothing committed yet
}

TEST(OverlayStateTest, TakeWritesYieldsLastWritePerKeyAndEmpties) {
  InMemoryStateStore base;
  OverlayState state(&base);
  state.Put("cf", "k", "1");
  state.Put("cf", "k", "2");
  state.Put("other", "k", "x");
  state.Delete("cf", "gone");
  std::vector<eventstore::ExtraWrite> writes = state.TakeWrites();
  ASSERT_EQ(writes.size(), 3u);
  EXPECT_EQ(writes[0].key, "gone");
  EXPECT_FALSE(writes[0].value.has_value());
  EXPECT_EQ(writes[1].value.value_or(""), "2");
  EXPECT_EQ(writes[2].column_family, "other");
  EXPECT_TRUE(state.empty());
  base.Apply(writes);
  EXPECT_EQ(base.Rows("cf").size(), 1u);
}

TEST(OverlayStateTest, DiscardForgetsBufferedWrites) {
  InMemoryStateStore base;
  OverlayState state(&base);
  state.Put("cf", "k", "v");
  state.Discard();
  EXPECT_FALSE(state.Get("cf", "k")->has_value());
  EXPECT_TRUE(state.TakeWrites().empty());
}

}  // namespace
}  // namespace surge::projections
