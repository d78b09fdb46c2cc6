#include "cluster/origin.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace surge::cluster {
namespace {

using ::testing::MatchesRegex;

TEST(OriginTest, IsCreatedOnceAndKept) {
  testing::TempDir dir;
  absl::StatusOr<std::string> first = LoadOrCreateOrigin(dir.path(), "n1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(*first, MatchesRegex("n1~[0-9a-f]{16}"));
  absl::StatusOr<std::string> again = LoadOrCreateOrigin(dir.path(), "n1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
}

TEST(OriginTest, ANewDataDirIsANewOrigin) {
  // A node that lost its disk comes back under the same id as a new origin,
  // so its positions (from 1 again) are not taken for duplicates.
  testing::TempDir a;
  testing::TempDir b;
  EXPECT_NE(*LoadOrCreateOrigin(a.path(), "n1"), *LoadOrCreateOrigin(b.path(), "n1"));
}

TEST(OriginTest, RefusesADataDirOfAnotherNode) {
  testing::TempDir dir;
  ASSERT_TRUE(LoadOrCreateOrigin(dir.path(), "n1").ok());
  absl::StatusOr<std::string> other = LoadOrCreateOrigin(dir.path(), "n2");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.status().message()), ::testing::HasSubstr("n1~"));
}

}  // namespace
}  // namespace surge::cluster
