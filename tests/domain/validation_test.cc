#include "domain/validation.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace surge::domain {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::OrderLine Line(std::string sku, int64_t quantity) {
  v1::OrderLine line;
  line.set_sku(std::move(sku));
  line.set_quantity(quantity);
  return line;
}

PlaceOrderCommand GoodOrder() {
  return PlaceOrderCommand{
      .request_id = "r-1", .user_id = "u-1", .lines = {Line("sku-1", 1), Line("sku-2", 2)}};
}

TEST(ValidationTest, AcceptsValuesAtEveryBoundary) {
  EXPECT_TRUE(ValidateRequestId("request_id", std::string(128, 'x')).ok());
  EXPECT_TRUE(ValidateRequestId("request_id", "caf\xc3\xa9 \xe2\x9c\x93 ok").ok());
  EXPECT_TRUE(ValidateId("user_id", "AZaz09._:-").ok());
  EXPECT_TRUE(ValidateId("user_id", std::string(128, 'a')).ok());
  EXPECT_TRUE(ValidateQuantity("q", 1).ok());
  EXPECT_TRUE(ValidateQuantity("q", 1'000'000).ok());
  EXPECT_TRUE(ValidateStockDelta("delta", -1'000'000).ok());
  EXPECT_TRUE(ValidateStockDelta("delta", 1'000'000).ok());
  EXPECT_TRUE(ValidatePerUserLimit("l", 0).ok());
  EXPECT_TRUE(ValidatePerUserLimit("l", 1'000'000).ok());
  EXPECT_TRUE(ValidateWaitForSettlementMs("w", 0).ok());
  EXPECT_TRUE(ValidateWaitForSettlementMs("w", 30'000).ok());
  EXPECT_TRUE(ValidatePageSize("max_count", 1000).ok());
  PlaceOrderCommand hundred = GoodOrder();
  hundred.lines.assign(100, Line("s", 3));
  EXPECT_TRUE(Validate(hundred).ok());
}

struct Case {
  std::string name;
  std::function<absl::Status()> check;
  std::string expected_prefix;  // the field, as the message must start
  std::string expected_detail;
};

TEST(ValidationTest, RejectsEveryRuleWithInvalidArgumentNamingTheField) {
  const std::vector<Case> cases = {
      {"empty request id",
       [] {
         auto c = GoodOrder();
         c.request_id = "";
         return Validate(c);
       },
       "request_id: ", "must not be empty"},
      {"long request id",
       [] {
         auto c = GoodOrder();
         c.request_id = std::string(129, 'r');
         return Validate(c);
       },
       "request_id: ", "at most 128 bytes, got 129"},
      {"control byte in request id",
       [] {
         auto c = GoodOrder();
         c.request_id = "a\nb";
         return Validate(c);
       },
       "request_id: ", "0x0a at offset 1"},
      {"DEL in request id",
       [] {
         auto c = GoodOrder();
         c.request_id = "a\x7f";
         return Validate(c);
       },
       "request_id: ", "0x7f"},
      {"empty user",
       [] {
         auto c = GoodOrder();
         c.user_id = "";
         return Validate(c);
       },
       "user_id: ", "must not be empty"},
      {"user with space",
       [] {
         auto c = GoodOrder();
         c.user_id = "a b";
         return Validate(c);
       },
       "user_id: ", "[A-Za-z0-9._:-], got byte 0x20 at offset 1"},
      {"user too long",
       [] {
         auto c = GoodOrder();
         c.user_id = std::string(129, 'u');
         return Validate(c);
       },
       "user_id: ", "at most 128 bytes"},
      {"no lines",
       [] {
         auto c = GoodOrder();
         c.lines.clear();
         return Validate(c);
       },
       "lines: ", "between 1 and 100 entries, got 0"},
      {"101 lines",
       [] {
         auto c = GoodOrder();
         c.lines.assign(101, Line("s", 1));
         return Validate(c);
       },
       "lines: ", "got 101"},
      {"zero quantity on line 2",
       [] {
         auto c = GoodOrder();
         c.lines.push_back(Line("s", 0));
         return Validate(c);
       },
       "lines[2].quantity: ", "must be between 1 and 1000000, got 0"},
      {"huge quantity",
       [] {
         auto c = GoodOrder();
         c.lines[0].set_quantity(1'000'001);
         return Validate(c);
       },
       "lines[0].quantity: ", "got 1000001"},
      {"negative quantity",
       [] {
         auto c = GoodOrder();
         c.lines[1].set_quantity(-5);
         return Validate(c);
       },
       "lines[1].quantity: ", "got -5"},
      {"bad sku",
       [] {
         auto c = GoodOrder();
         c.lines[1].set_sku("sku/1");
         return Validate(c);
       },
       "lines[1].sku: ", "0x2f"},
      {"empty sku",
       [] {
         auto c = GoodOrder();
         c.lines[0].set_sku("");
         return Validate(c);
       },
       "lines[0].sku: ", "must not be empty"},
      {"cancel bad order id",
       [] { return Validate(CancelOrderCommand{.request_id = "r", .order_id = "o#1"}); },
       "order_id: ", "0x23"},
      {"cancel empty request id",
       [] { return Validate(CancelOrderCommand{.request_id = "", .order_id = "o"}); },
       "request_id: ", "must not be empty"},
      {"zero delta",
       [] { return Validate(AdjustStockCommand{.request_id = "r", .sku = "s", .delta = 0}); },
       "delta: ", "must not be 0"},
      {"delta too big",
       [] {
         return Validate(AdjustStockCommand{.request_id = "r", .sku = "s", .delta = 1'000'001});
       },
       "delta: ", "got 1000001"},
      {"delta too small",
       [] {
         return Validate(AdjustStockCommand{.request_id = "r", .sku = "s", .delta = -1'000'001});
       },
       "delta: ", "got -1000001"},
      {"adjust bad sku",
       [] { return Validate(AdjustStockCommand{.request_id = "r", .sku = "", .delta = 1}); },
       "sku: ", "must not be empty"},
      {"campaign bad code",
       [] {
         return Validate(
             CreateCampaignCommand{.request_id = "r", .code = "a b", .total_quantity = 1});
       },
       "code: ", "0x20"},
      {"campaign zero quantity",
       [] {
         return Validate(
             CreateCampaignCommand{.request_id = "r", .code = "c", .total_quantity = 0});
       },
       "total_quantity: ", "got 0"},
      {"campaign negative limit",
       [] {
         return Validate(CreateCampaignCommand{
             .request_id = "r", .code = "c", .total_quantity = 5, .per_user_limit = -1});
       },
       "per_user_limit: ", "between 0 and 1000000, got -1"},
      {"campaign huge limit",
       [] {
         return Validate(CreateCampaignCommand{
             .request_id = "r", .code = "c", .total_quantity = 5, .per_user_limit = 1'000'001});
       },
       "per_user_limit: ", "got 1000001"},
      {"coupon bad user",
       [] { return Validate(RequestCouponCommand{.request_id = "r", .user_id = "", .code = "c"}); },
       "user_id: ", "must not be empty"},
      {"coupon bad code",
       [] {
         return Validate(RequestCouponCommand{.request_id = "r", .user_id = "u", .code = "\xc3"});
       },
       "code: ", "0xc3"},
      {"wait too long",
       [] { return ValidateWaitForSettlementMs("wait_for_settlement_ms", 30'001); },
       "wait_for_settlement_ms: ", "between 0 and 30000, got 30001"},
      {"negative wait", [] { return ValidateWaitForSettlementMs("wait_for_settlement_ms", -1); },
       "wait_for_settlement_ms: ", "got -1"},
      {"page too big", [] { return ValidatePageSize("max_count", 1001); },
       "max_count: ", "got 1001"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Status status = c.check();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), StartsWith(c.expected_prefix));
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.expected_detail));
  }
}

TEST(ValidationTest, ReportsTheFirstFailingLine) {
  PlaceOrderCommand c = GoodOrder();
  c.lines[0].set_quantity(0);
  c.lines[1].set_sku("");
  EXPECT_THAT(std::string(Validate(c).message()), StartsWith("lines[0].quantity: "));
}

}  // namespace
}  // namespace surge::domain
