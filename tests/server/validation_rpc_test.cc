// Every input rule of the contract, over gRPC: INVALID_ARGUMENT with a
// message naming the field, and nothing written.
#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace surge::testing {
namespace {

using ::testing::StartsWith;

class ValidationRpcTest : public ServerTest {};

TEST_F(ValidationRpcTest, EveryRuleIsInvalidArgumentNamingTheFieldAndWritesNothing) {
  auto orders = server_->Orders();
  auto inventory = server_->Inventory();
  auto coupons = server_->Coupons();
  auto log = server_->EventStore();

  // Real targets, so a request that slipped through would write.
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-0"), &placed).ok());
  v1::CreateCampaignRequest campaign;
  campaign.set_request_id("c-0");
  campaign.set_code("SALE");
  campaign.set_total_quantity(5);
  v1::CreateCampaignResponse created;
  ASSERT_TRUE(coupons->CreateCampaign(Ctx().get(), campaign, &created).ok());
  const int written = CommandEvents();
  const std::string order_id = placed.order_id();

  auto place = [&](std::function<void(v1::PlaceOrderRequest&)> edit) {
    return [&, edit] {
      v1::PlaceOrderRequest r = OrderRequest("r-new");
      edit(r);
      v1::PlaceOrderResponse response;
      return orders->PlaceOrder(Ctx().get(), r, &response);
    };
  };
  auto adjust = [&](std::string request_id, std::string sku, int64_t delta) {
    return [&, request_id, sku, delta] {
      v1::AdjustStockRequest r;
      r.set_request_id(request_id);
      r.set_sku(sku);
      r.set_delta(delta);
      v1::AdjustStockResponse response;
      return inventory->AdjustStock(Ctx().get(), r, &response);
    };
  };
  auto create = [&](std::string code, int64_t total, int64_t limit) {
    return [&, code, total, limit] {
      v1::CreateCampaignRequest r;
      r.set_request_id("c-new");
      r.set_code(code);
      r.set_total_quantity(total);
      r.set_per_user_limit(limit);
      v1::CreateCampaignResponse response;
      return coupons->CreateCampaign(Ctx().get(), r, &response);
    };
  };
  auto request_coupon = [&](std::string request_id, std::string user, std::string code) {
    return [&, request_id, user, code] {
      v1::RequestCouponRequest r;
      r.set_request_id(request_id);
      r.set_user_id(user);
      r.set_code(code);
      v1::RequestCouponResponse response;
      return coupons->RequestCoupon(Ctx().get(), r, &response);
    };
  };
  auto cancel = [&](std::string request_id, std::string id, int64_t wait) {
    return [&, request_id, id, wait] {
      v1::CancelOrderRequest r;
      r.set_request_id(request_id);
      r.set_order_id(id);
      r.set_wait_for_settlement_ms(wait);
      v1::Order response;
      return orders->CancelOrder(Ctx().get(), r, &response);
    };
  };

  struct Case {
    std::string name;
    std::function<grpc::Status()> call;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"empty request_id", place([](auto& r) { r.set_request_id(""); }), "request_id: "},
      {"129-byte request_id", place([](auto& r) { r.set_request_id(std::string(129, 'r')); }),
       "request_id: "},
      {"control byte in request_id", place([](auto& r) { r.set_request_id("a\tb"); }),
       "request_id: "},
      {"empty user_id", place([](auto& r) { r.set_user_id(""); }), "user_id: "},
      {"bad user_id byte", place([](auto& r) { r.set_user_id("user 1"); }), "user_id: "},
      {"129-byte user_id", place([](auto& r) { r.set_user_id(std::string(129, 'u')); }),
       "user_id: "},
      {"no lines", place([](auto& r) { r.clear_lines(); }), "lines: "},
      {"101 lines", place([](auto& r) {
         for (int i = 0; i < 99; ++i) *r.add_lines() = Line("s", 1);
       }),
       "lines: "},
      {"zero quantity", place([](auto& r) { r.mutable_lines(1)->set_quantity(0); }),
       "lines[1].quantity: "},
      {"quantity over 1,000,000",
       place([](auto& r) { r.mutable_lines(0)->set_quantity(1'000'001); }), "lines[0].quantity: "},
      {"bad sku", place([](auto& r) { r.mutable_lines(1)->set_sku("a/b"); }), "lines[1].sku: "},
      {"zero delta", adjust("s-1", "sku-a", 0), "delta: "},
      {"delta over 1,000,000", adjust("s-1", "sku-a", 1'000'001), "delta: "},
      {"delta under -1,000,000", adjust("s-1", "sku-a", -1'000'001), "delta: "},
      {"bad adjust sku", adjust("s-1", "", 5), "sku: "},
      {"bad adjust request_id", adjust("", "sku-a", 5), "request_id: "},
      {"bad campaign code", create("a b", 5, 1), "code: "},
      {"zero campaign quantity", create("NEW", 0, 1), "total_quantity: "},
      {"campaign quantity over 1,000,000", create("NEW", 1'000'001, 1), "total_quantity: "},
      {"negative per_user_limit", create("NEW", 5, -1), "per_user_limit: "},
      {"per_user_limit over 1,000,000", create("NEW", 5, 1'000'001), "per_user_limit: "},
      {"coupon bad user", request_coupon("q-1", "", "SALE"), "user_id: "},
      {"coupon bad code", request_coupon("q-1", "u", "SA LE"), "code: "},
      {"coupon bad request_id", request_coupon(std::string(129, 'q'), "u", "SALE"), "request_id: "},
      {"cancel bad order_id", cancel("x-1", "o#1", 0), "order_id: "},
      {"cancel bad request_id", cancel("", order_id, 0), "request_id: "},
      {"cancel wait too long", cancel("x-1", order_id, 30'001), "wait_for_settlement_ms: "},
      {"cancel negative wait", cancel("x-1", order_id, -1), "wait_for_settlement_ms: "},
      {"get order wait too long",
       [&] {
         v1::GetOrderRequest r;
         r.set_order_id(order_id);
         r.set_wait_for_settlement_ms(30'001);
         v1::Order response;
         return orders->GetOrder(Ctx().get(), r, &response);
       },
       "wait_for_settlement_ms: "},
      {"get order bad id",
       [&] {
         v1::GetOrderRequest r;
         r.set_order_id("");
         v1::Order response;
         return orders->GetOrder(Ctx().get(), r, &response);
       },
       "order_id: "},
      {"get coupon request wait negative",
       [&] {
         v1::GetCouponRequestRequest r;
         r.set_request_id("q-1");
         r.set_wait_for_settlement_ms(-5);
         v1::CouponRequest response;
         return coupons->GetCouponRequest(Ctx().get(), r, &response);
       },
       "wait_for_settlement_ms: "},
      {"get stock bad sku",
       [&] {
         v1::GetStockRequest r;
         r.set_sku("a b");
         v1::Stock response;
         return inventory->GetStock(Ctx().get(), r, &response);
       },
       "sku: "},
      {"get campaign bad code",
       [&] {
         v1::GetCampaignRequest r;
         v1::Campaign response;
         return coupons->GetCampaign(Ctx().get(), r, &response);
       },
       "code: "},
      {"read all page too big",
       [&] {
         v1::ReadAllRequest r;
         r.set_max_count(1001);
         v1::ReadAllResponse response;
         return log->ReadAll(Ctx().get(), r, &response);
       },
       "max_count: "},
      {"read stream negative version",
       [&] {
         v1::ReadStreamRequest r;
         r.set_stream_id("order-" + order_id);
         r.set_from_version(-1);
         v1::ReadStreamResponse response;
         return log->ReadStream(Ctx().get(), r, &response);
       },
       "from_version: "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const grpc::Status status = c.call();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith(c.field));
  }
  EXPECT_EQ(CommandEvents(), written) << "an invalid request wrote to the log";
}

}  // namespace
}  // namespace surge::testing
