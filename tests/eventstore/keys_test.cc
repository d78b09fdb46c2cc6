#include "eventstore/internal/keys.h"

#include "eventstore/event_store.h"
#include "gtest/gtest.h"

namespace surge::eventstore::internal {
namespace {

TEST(KeysTest, StreamKeysSortByStreamThenVersion) {
  EXPECT_LT(StreamKey("a", 255), StreamKey("a", 256));
  EXPECT_LT(StreamKey("a", 1000), StreamKey("ab", 0));
  EXPECT_LT(StreamKey("a", 1ll << 40), StreamUpperKey("a"));
  EXPECT_LT(StreamUpperKey("a"), StreamKey("ab", 0));
}

TEST(KeysTest, ParsesOnlyKeysOfTheSameStream) {
  EXPECT_EQ(ParseStreamKeyVersion(StreamKey("order-1", 7), "order-1"), 7);
  EXPECT_EQ(ParseStreamKeyVersion(StreamKey("order-1", 7), "order-"), std::nullopt);
  EXPECT_EQ(ParseStreamKeyVersion(StreamKey("order-10", 7), "order-1"), std::nullopt);
  EXPECT_EQ(ParseStreamKeyVersion("short", "order-1"), std::nullopt);
}

TEST(KeysTest, PositionKeyIsBigEndian) {
  EXPECT_EQ(PositionKey(1), std::string("\0\0\0\0\0\0\0\1", 8));
  EXPECT_EQ(DecodeBigEndian64(PositionKey(123456789)), 123456789u);
}

}  // namespace
}  // namespace surge::eventstore::internal
