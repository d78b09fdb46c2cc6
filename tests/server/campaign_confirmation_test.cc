// The cluster's CreateCampaign answer (server/internal/campaign_confirmation):
// the campaign its decider kept, read from the read model, decides it.
#include "server/internal/campaign_confirmation.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/notifier.h"
#include "gtest/gtest.h"
#include "projections/read_models.h"
#include "surge/v1/surge.pb.h"
#include "tests/domain/test_store.h"
#include "tests/support/temp_dir.h"

namespace surge::server::internal {
namespace {

class CampaignConfirmationTest : public ::testing::Test {
 protected:
  // What the decider kept, as its changelog reaches this node's read model.
  void Decide(const std::string& code, int64_t total, int64_t per_user_limit) {
    v1::Campaign campaign;
    campaign.set_code(code);
    campaign.set_total_quantity(total);
    campaign.set_remaining(total);
    campaign.set_per_user_limit(per_user_limit);
    eventstore::AppendRequest request;
    request.extra_writes.push_back({projections::kCampaignsCf, code, campaign.SerializeAsString()});
    ASSERT_TRUE(store_->Append(std::move(request)).ok());
    notifier_.Notify();
  }

  // Runs the hook for a command the log accepted at position 7.
  absl::StatusOr<domain::WriteResult> Confirm(const std::string& code, int64_t total,
                                              int64_t per_user_limit, int64_t wait_ms,
                                              const std::function<void()>& meanwhile = nullptr) {
    domain::CreateCampaignCommand command{
        .request_id = "r", .code = code, .total_quantity = total, .per_user_limit = per_user_limit};
    absl::Notification answered;
    std::optional<absl::StatusOr<domain::WriteResult>> answer;
    ConfirmCampaignByItsDecider(queries_, wait_ms)(command, domain::WriteResult{.position = 7},
                                                   [&](absl::StatusOr<domain::WriteResult> r) {
                                                     answer = std::move(r);
                                                     answered.Notify();
                                                   });
    if (meanwhile) meanwhile();
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)))
        << "the hook never answered";
    return answer.value_or(absl::InternalError("no answer"));
  }

  testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_ = domain::OpenTestStore(dir_);
  Notifier notifier_;
  domain::QueryHandler queries_{*store_, notifier_};
};

TEST_F(CampaignConfirmationTest, TheCampaignTheDeciderKeptWithTheCallersTermsIsOk) {
  Decide("SALE", 100, 1);
  absl::StatusOr<domain::WriteResult> r = Confirm("SALE", 100, 1, 1000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->position, 7u);
}

TEST_F(CampaignConfirmationTest, WaitsForTheDecisionToReachTheReadModel) {
  absl::StatusOr<domain::WriteResult> r =
      Confirm("SALE", 100, 1, 30000, [&] { Decide("SALE", 100, 1); });
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST_F(CampaignConfirmationTest, AnotherNodesCampaignWithOtherTermsIsAlreadyExists) {
  Decide("SALE", 50, 1);
  absl::StatusOr<domain::WriteResult> r = Confirm("SALE", 100, 1, 1000);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
  EXPECT_NE(r.status().message().find("total_quantity 50"), std::string::npos) << r.status();
  Decide("LIMIT", 100, 2);
  r = Confirm("LIMIT", 100, 1, 1000);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists) << r.status();
}

TEST_F(CampaignConfirmationTest, NoDecisionWithinTheWaitIsDeadlineExceeded) {
  // The local log's CampaignCreated, which GetCampaign falls back to, is
  // not a decision.
  eventstore::AppendRequest created;
  v1::Event& event = created.events.emplace_back();
  event.set_stream_id("campaign-SALE");
  event.mutable_campaign_created()->set_code("SALE");
  event.mutable_campaign_created()->set_total_quantity(100);
  event.mutable_campaign_created()->set_per_user_limit(1);
  ASSERT_TRUE(store_->Append(std::move(created)).ok());
  ASSERT_TRUE(queries_.GetCampaign("SALE").ok()) << "the fallback this test relies on is gone";
  absl::StatusOr<domain::WriteResult> r = Confirm("SALE", 100, 1, 50);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
}

}  // namespace
}  // namespace surge::server::internal
