#include "projections/coupon_projection.h"

#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "projections/internal/big_endian.h"
#include "tests/projections/test_flow.h"

namespace surge::projections {
namespace {

using testing::Flow;

v1::Event Campaign(const std::string& code, int64_t total, int64_t per_user) {
  v1::Event e;
  e.set_stream_id("campaign-" + code);
  e.mutable_campaign_created()->set_code(code);
  e.mutable_campaign_created()->set_total_quantity(total);
  e.mutable_campaign_created()->set_per_user_limit(per_user);
  return e;
}

v1::Event Request(const std::string& request_id, const std::string& user, const std::string& code) {
  v1::Event e;
  e.set_stream_id("campaign-" + code);
  e.set_correlation_id(request_id);
  e.mutable_coupon_requested()->set_request_id(request_id);
  e.mutable_coupon_requested()->set_user_id(user);
  e.mutable_coupon_requested()->set_code(code);
  return e;
}

v1::CouponRequest RequestRow(Flow& flow, const std::string& id) {
  return flow.Row<v1::CouponRequest>(kCouponRequestsCf, id).value_or(v1::CouponRequest());
}

TEST(CouponProjectionTest, IssuesUntilSoldOut) {
  Flow flow;
  flow.Append(Campaign("SPRING", 2, 0));  // per-user limit 0 means 1
  flow.Append(Request("r1", "u1", "SPRING"));
  flow.Append(Request("r2", "u2", "SPRING"));
  flow.Append(Request("r3", "u3", "SPRING"));
  flow.Run();
  v1::Campaign campaign = *flow.Row<v1::Campaign>(kCampaignsCf, "SPRING");
  EXPECT_EQ(campaign.issued(), 2);
  EXPECT_EQ(campaign.remaining(), 0);
  EXPECT_EQ(campaign.per_user_limit(), 1);
  EXPECT_EQ(RequestRow(flow, "r1").status(), v1::COUPON_REQUEST_STATUS_ISSUED);
  EXPECT_EQ(RequestRow(flow, "r1").coupon_id(), "SPRING-1");
  EXPECT_EQ(RequestRow(flow, "r2").coupon_id(), "SPRING-2");
  EXPECT_EQ(RequestRow(flow, "r3").status(), v1::COUPON_REQUEST_STATUS_REJECTED);
  EXPECT_EQ(RequestRow(flow, "r3").reason(), v1::COUPON_REJECT_REASON_SOLD_OUT);
  auto issued = flow.OfType(v1::Event::kCouponIssued);
  ASSERT_EQ(issued.size(), 2u);
  EXPECT_EQ(issued[0].stream_id(), "campaign-SPRING");
  EXPECT_EQ(issued[0].correlation_id(), "r1");
  EXPECT_EQ(issued[1].coupon_issued().remaining(), 0);
}

TEST(CouponProjectionTest, UnknownCampaignIsRejected) {
  Flow flow;
  flow.Append(Request("r1", "u1", "NOPE"));
  flow.Run();
  auto rejected = flow.OfType(v1::Event::kCouponRejected);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].coupon_rejected().reason(), v1::COUPON_REJECT_REASON_UNKNOWN_CAMPAIGN);
  EXPECT_EQ(RequestRow(flow, "r1").reason(), v1::COUPON_REJECT_REASON_UNKNOWN_CAMPAIGN);
}

TEST(CouponProjectionTest, PerUserLimitAboveOneIsHonoured) {
  Flow flow;
  flow.Append(Campaign("BULK", 100, 2));
  for (int i = 0; i < 3; ++i) flow.Append(Request("r" + std::to_string(i), "u1", "BULK"));
  flow.Append(Request("other", "u2", "BULK"));
  flow.Run();
  EXPECT_EQ(RequestRow(flow, "r0").status(), v1::COUPON_REQUEST_STATUS_ISSUED);
  EXPECT_EQ(RequestRow(flow, "r1").status(), v1::COUPON_REQUEST_STATUS_ISSUED);
  EXPECT_EQ(RequestRow(flow, "r2").reason(), v1::COUPON_REJECT_REASON_LIMIT_REACHED);
  EXPECT_EQ(RequestRow(flow, "other").status(), v1::COUPON_REQUEST_STATUS_ISSUED);
  EXPECT_EQ(flow.Row<v1::Campaign>(kCampaignsCf, "BULK")->issued(), 3);
}

TEST(CouponProjectionTest, DecidedRequestAndOwnDecisionsAreIgnored) {
  Flow flow;
  flow.Append(Campaign("C", 5, 1));
  flow.Append(Request("r1", "u1", "C"));
  flow.Run();
  std::vector<v1::Event> issued = flow.OfType(v1::Event::kCouponIssued);
  ASSERT_EQ(issued.size(), 1u);
  CouponProjection coupons;
  OverlayState state(&flow.store());
  for (const v1::Event& again : {Request("r1", "u1", "C"), issued[0], Campaign("C", 9, 9)}) {
    auto emitted = coupons.Handle(state, again);
    ASSERT_TRUE(emitted.ok()) << emitted.status();
    EXPECT_TRUE(emitted->empty());
  }
  EXPECT_TRUE(state.empty());
}

// Many users, several campaigns, every request delivered one to three times
// in shuffled order: never over-issued, never beyond a user's limit, every
// request decided exactly once and the rows agree with the events.
TEST(CouponProjectionTest, RandomizedDeliveryNeverOverIssues) {
  for (uint32_t seed : {1u, 7u, 42u}) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    Flow flow;
    const std::map<std::string, std::pair<int64_t, int64_t>> campaigns = {
        {"A", {50, 1}}, {"B", {120, 3}}, {"C", {10, 2}}};
    for (const auto& [code, spec] : campaigns) flow.Append(Campaign(code, spec.first, spec.second));
    flow.Run();
    std::vector<v1::Event> deliveries;
    std::uniform_int_distribution<int> user(0, 79), code(0, 3), copies(1, 3);
    const char* codes[] = {"A", "B", "C", "X"};
    for (int i = 0; i < 600; ++i) {
      v1::Event request =
          Request("req-" + std::to_string(i), "u" + std::to_string(user(rng)), codes[code(rng)]);
      request.set_position(1000 + i);
      request.set_event_id("node-1:" + std::to_string(1000 + i));
      for (int c = copies(rng); c > 0; --c) deliveries.push_back(request);
    }
    std::shuffle(deliveries.begin(), deliveries.end(), rng);
    for (const v1::Event& e : deliveries) flow.Deliver(flow.coupons(), e);

    std::map<std::pair<std::string, std::string>, int64_t> held;
    std::map<std::string, int64_t> issued_per_code;
    std::set<std::string> decided, coupon_ids;
    for (const v1::Event& e : flow.OfType(v1::Event::kCouponIssued)) {
      const v1::CouponIssued& c = e.coupon_issued();
      ++held[{c.code(), c.user_id()}];
      ++issued_per_code[c.code()];
      EXPECT_TRUE(decided.insert(c.request_id()).second) << c.request_id();
      EXPECT_TRUE(coupon_ids.insert(c.coupon_id()).second) << c.coupon_id();
      EXPECT_EQ(RequestRow(flow, c.request_id()).coupon_id(), c.coupon_id());
    }
    for (const v1::Event& e : flow.OfType(v1::Event::kCouponRejected)) {
      EXPECT_TRUE(decided.insert(e.coupon_rejected().request_id()).second);
    }
    EXPECT_EQ(decided.size(), 600u);
    for (const auto& [code, spec] : campaigns) {
      v1::Campaign row = *flow.Row<v1::Campaign>(kCampaignsCf, code);
      EXPECT_LE(row.issued(), spec.first) << code;
      EXPECT_EQ(row.issued(), issued_per_code[code]) << code;
      EXPECT_EQ(row.issued() + row.remaining(), spec.first) << code;
    }
    // Demand exceeds supply for A and C, so they must sell out exactly.
    EXPECT_EQ(issued_per_code["A"], 50);
    EXPECT_EQ(issued_per_code["C"], 10);
    for (const auto& [code_user, count] : held) {
      EXPECT_LE(count, campaigns.at(code_user.first).second) << code_user.second;
      auto bytes =
          flow.store().Get(kCouponHoldingsCf, CouponHoldingKey(code_user.first, code_user.second));
      ASSERT_TRUE(bytes.ok() && bytes->has_value());
      EXPECT_EQ(internal::DecodeU64(**bytes), static_cast<uint64_t>(count));
    }
  }
}

}  // namespace
}  // namespace surge::projections
