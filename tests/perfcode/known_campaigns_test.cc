// RequestCoupon keeps a cache of campaigns known to exist (domain/commands.h:
// a hit spares a read of the log; misses are not cached). These tests pin
// the contract around it: an unknown campaign is still NOT_FOUND once the
// cache is warm, and a campaign created after a miss is accepted at once.
#include <memory>
#include <string>

#include "domain/commands.h"
#include "gtest/gtest.h"
#include "tests/domain/test_store.h"
#include "tests/support/temp_dir.h"

namespace surge::domain {
namespace {

class KnownCampaignsCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    commands_ = std::make_unique<CommandHandler>(*store_);
  }

  absl::Status Create(CommandHandler& commands, const std::string& code) {
    return commands
        .CreateCampaign({.request_id = "create-" + code,
                         .code = code,
                         .total_quantity = 10,
                         .per_user_limit = 1})
        .status();
  }

  absl::StatusOr<WriteResult> Request(CommandHandler& commands, const std::string& request_id,
                                      const std::string& code) {
    return commands.RequestCoupon({.request_id = request_id, .user_id = "user-1", .code = code});
  }

  testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<CommandHandler> commands_;
};

TEST_F(KnownCampaignsCacheTest, UnknownCampaignIsStillNotFoundAfterTheCacheWarmed) {
  ASSERT_TRUE(Create(*commands_, "known").ok());
  ASSERT_TRUE(Request(*commands_, "r-1", "known").ok());  // caches "known"
  const uint64_t head = store_->HeadPosition();

  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<WriteResult> unknown =
        Request(*commands_, "r-u-" + std::to_string(i), "unknown");
    EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  }
  EXPECT_EQ(store_->HeadPosition(), head) << "a request for an unknown campaign wrote something";
  // The known one is still served, from the cache.
  absl::StatusOr<WriteResult> again = Request(*commands_, "r-2", "known");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->position, head + 1);
}

TEST_F(KnownCampaignsCacheTest, CampaignCreatedAfterAMissIsAccepted) {
  ASSERT_TRUE(Create(*commands_, "warm").ok());
  ASSERT_TRUE(Request(*commands_, "r-warm", "warm").ok());
  absl::StatusOr<WriteResult> miss = Request(*commands_, "r-1", "late");
  ASSERT_EQ(miss.status().code(), absl::StatusCode::kNotFound) << miss.status();

  ASSERT_TRUE(Create(*commands_, "late").ok());
  // A new request_id, and the very one that missed: the miss recorded nothing.
  for (const std::string request_id : {"r-2", "r-1"}) {
    absl::StatusOr<WriteResult> accepted = Request(*commands_, request_id, "late");
    ASSERT_TRUE(accepted.ok()) << request_id << ": " << accepted.status();
    EXPECT_FALSE(accepted->duplicate) << request_id;
    absl::StatusOr<std::vector<v1::Event>> events = store_->ReadAll(accepted->position, 1);
    ASSERT_TRUE(events.ok() && events->size() == 1u);
    ASSERT_TRUE((*events)[0].has_coupon_requested());
    EXPECT_EQ((*events)[0].coupon_requested().code(), "late");
    EXPECT_EQ((*events)[0].coupon_requested().request_id(), request_id);
  }
}

TEST_F(KnownCampaignsCacheTest, CampaignCreatedByAnotherWriterAfterAMissIsAccepted) {
  // Two handlers over one store (each with its own cache): the one that
  // missed must find the campaign the other created in the log.
  CommandHandler other(*store_);
  ASSERT_EQ(Request(*commands_, "r-1", "shared").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(Create(other, "shared").ok());
  absl::StatusOr<WriteResult> accepted = Request(*commands_, "r-2", "shared");
  EXPECT_TRUE(accepted.ok()) << accepted.status();
}

TEST_F(KnownCampaignsCacheTest, CacheHitStillAnswersRepeatsAndReusedRequestIds) {
  ASSERT_TRUE(Create(*commands_, "a").ok());
  ASSERT_TRUE(Create(*commands_, "b").ok());
  absl::StatusOr<WriteResult> first = Request(*commands_, "r-1", "a");
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t head = store_->HeadPosition();

  absl::StatusOr<WriteResult> repeat = Request(*commands_, "r-1", "a");  // cache hit
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(repeat->position, first->position);
  // The same request_id for another (also cached) campaign is another command.
  ASSERT_TRUE(Request(*commands_, "r-b", "b").ok());
  absl::StatusOr<WriteResult> reused = Request(*commands_, "r-1", "b");
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kFailedPrecondition) << reused.status();
  EXPECT_EQ(store_->HeadPosition(), head + 1);  // only r-b appended
}

}  // namespace
}  // namespace surge::domain
