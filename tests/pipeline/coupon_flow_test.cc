// End-to-end first-come coupons over gRPC against the real server and its
// embedded Kafka broker: deduplication and a flash sale.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/pipeline/pipeline_test_util.h"

namespace surge::testing {
namespace {

using CouponFlowTest = PipelineTest;

TEST_F(CouponFlowTest, SameRequestIdTwiceAppendsOneCouponRequested) {
  client_->CreateCampaign("DUP", 10);
  auto first = client_->RequestCoupon("req-dup", "user-1", "DUP");
  auto second = client_->RequestCoupon("req-dup", "user-1", "DUP");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(first->duplicate());
  EXPECT_TRUE(second->duplicate());
  EXPECT_EQ(first->position(), second->position());

  auto settled = client_->SettledCouponRequest("req-dup");
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(settled->status(), v1::COUPON_REQUEST_STATUS_ISSUED);
  int requested = 0, issued = 0;
  for (const v1::Event& e : client_->ReadAll()) {
    requested += e.has_coupon_requested() && e.coupon_requested().request_id() == "req-dup";
    issued += e.has_coupon_issued() && e.coupon_issued().request_id() == "req-dup";
  }
  EXPECT_EQ(requested, 1);
  EXPECT_EQ(issued, 1);
}

// 1,000 coupons, 5,000 concurrent requests from 3,000 users (limit 1 each).
TEST_F(CouponFlowTest, FlashSaleIssuesExactlyTheQuantityAndNobodyTwice) {
  constexpr int kCoupons = 1000, kRequests = 5000, kUsers = 3000;
  client_->CreateCampaign("FLASH", kCoupons);

  std::mutex mu;
  std::vector<std::string> accepted;
  ParallelFor(kRequests, 32, [&](int i) {
    const std::string request_id = absl::StrCat("flash-", i);
    auto response = client_->RequestCoupon(request_id, absl::StrCat("u", i % kUsers), "FLASH");
    ASSERT_TRUE(response.ok()) << response.status();
    std::lock_guard<std::mutex> lock(mu);
    accepted.push_back(request_id);
  });
  ASSERT_EQ(accepted.size(), static_cast<size_t>(kRequests));

  std::map<std::string, int> issued_per_user;
  int issued = 0, sold_out = 0, limit_reached = 0;
  std::vector<v1::CouponRequest> answers(kRequests);
  ParallelFor(kRequests, 16, [&](int i) {
    auto answer = client_->SettledCouponRequest(absl::StrCat("flash-", i));
    ASSERT_TRUE(answer.ok()) << answer.status();
    answers[i] = *answer;
  });
  for (const v1::CouponRequest& a : answers) {
    ASSERT_NE(a.status(), v1::COUPON_REQUEST_STATUS_PENDING) << a.request_id() << " never settled";
    if (a.status() == v1::COUPON_REQUEST_STATUS_ISSUED) {
      ++issued;
      ++issued_per_user[a.user_id()];
      EXPECT_FALSE(a.coupon_id().empty());
    } else {
      ASSERT_EQ(a.status(), v1::COUPON_REQUEST_STATUS_REJECTED);
      sold_out += a.reason() == v1::COUPON_REJECT_REASON_SOLD_OUT;
      limit_reached += a.reason() == v1::COUPON_REJECT_REASON_LIMIT_REACHED;
    }
  }
  EXPECT_EQ(issued, kCoupons);
  EXPECT_EQ(sold_out + limit_reached, kRequests - kCoupons);
  for (const auto& [user, n] : issued_per_user) EXPECT_EQ(n, 1) << user << " got " << n;

  // Reasons are right, in log order: LIMIT_REACHED for a user who already
  // holds one (checked first, sold out or not: both reasons then stay the
  // same if the request is decided again), else SOLD_OUT once all are issued.
  std::set<std::string> holders;
  int issued_in_log = 0;
  for (const v1::Event& e : client_->ReadAll()) {
    if (e.has_coupon_issued()) {
      ++issued_in_log;
      EXPECT_TRUE(holders.insert(e.coupon_issued().user_id()).second);
    } else if (e.has_coupon_rejected()) {
      const auto& r = e.coupon_rejected();
      if (holders.contains(r.user_id())) {
        EXPECT_EQ(r.reason(), v1::COUPON_REJECT_REASON_LIMIT_REACHED) << r.request_id();
      } else {
        EXPECT_EQ(r.reason(), v1::COUPON_REJECT_REASON_SOLD_OUT) << r.request_id();
        EXPECT_GE(issued_in_log, kCoupons) << r.request_id();
      }
    }
  }
  EXPECT_EQ(issued_in_log, kCoupons);

  auto campaign = client_->GetCampaign("FLASH");
  ASSERT_TRUE(campaign.ok());
  EXPECT_EQ(campaign->issued(), kCoupons);
  EXPECT_EQ(campaign->remaining(), 0);
}

}  // namespace
}  // namespace surge::testing
