// Every RPC x malformed input, through the generated stubs against the real
// server: each answer is the documented status and the log head does not
// move. The rules are ARCHITECTURE.md §4 / domain/validation.h; the point here is that
// the wire path (decoding, the thin handlers, status mapping) keeps them for
// hostile values too: 1 MiB strings, NUL and other control bytes, unicode,
// '/', INT64_MIN/MAX, 100,000 order lines.
//
// Requests carry no enum fields (enums appear only in replies), so "unknown
// enum values" has no request to go into; unknown *fields* are covered in
// garbage_bytes_test.cc.
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/hostile/hostile_fixture.h"

namespace surge::testing {
namespace {

using Code = grpc::StatusCode;

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

struct Case {
  std::string name;
  std::function<grpc::Status()> call;
  std::set<Code> expected;
};

v1::OrderLine Line(std::string sku, int64_t quantity) {
  v1::OrderLine line;
  line.set_sku(std::move(sku));
  line.set_quantity(quantity);
  return line;
}

v1::PlaceOrderRequest GoodOrder() {
  v1::PlaceOrderRequest r;
  r.set_request_id("hostile-order");
  r.set_user_id("user-1");
  *r.add_lines() = Line("SKU-1", 1);
  return r;
}

class HostileRpcTest : public HostileInputTest {
 protected:
  // Runs every case and checks status and head after each, so a failure
  // names the first case that wrote.
  void RunAll(const std::vector<Case>& cases) {
    uint64_t head = Head();
    for (const Case& c : cases) {
      const grpc::Status status = c.call();
      EXPECT_TRUE(c.expected.count(status.error_code()) == 1)
          << c.name << " answered " << Describe(status);
      const uint64_t after = Head();
      EXPECT_EQ(after, head) << c.name << " moved the log head";
      head = after;
      if (::testing::Test::HasFatalFailure()) return;
    }
    ExpectServerStillServes();
  }
};

TEST_F(HostileRpcTest, OrderServiceRefusesMalformedInputAndWritesNothing) {
  auto orders = server_->Orders();
  std::vector<Case> cases;
  const std::set<Code> invalid = {Code::INVALID_ARGUMENT};
  auto place = [&](std::string name, std::function<void(v1::PlaceOrderRequest&)> edit) {
    cases.push_back({"PlaceOrder " + name,
                     [&orders, edit] {
                       v1::PlaceOrderRequest r = GoodOrder();
                       edit(r);
                       v1::PlaceOrderResponse response;
                       return orders->PlaceOrder(Ctx().get(), r, &response);
                     },
                     invalid});
  };
  place("empty message", [](v1::PlaceOrderRequest& r) { r.Clear(); });
  for (const auto& bad : BadRequestIds()) {
    place("request_id " + bad.name, [v = bad.value](auto& r) { r.set_request_id(v); });
  }
  for (const auto& bad : BadIds()) {
    place("user_id " + bad.name, [v = bad.value](auto& r) { r.set_user_id(v); });
    place("sku " + bad.name, [v = bad.value](auto& r) { r.mutable_lines(0)->set_sku(v); });
  }
  for (int64_t q : {int64_t{0}, int64_t{-1}, int64_t{1'000'001}, kInt64Min, kInt64Max}) {
    place(absl::StrCat("quantity ", q), [q](auto& r) { r.mutable_lines(0)->set_quantity(q); });
  }
  place("bad quantity on the last of 100 lines", [](auto& r) {
    for (int i = 1; i < 100; ++i) *r.add_lines() = Line(absl::StrCat("SKU-", i), 1);
    r.mutable_lines(99)->set_quantity(0);
  });
  place("no lines", [](auto& r) { r.clear_lines(); });
  place("101 lines", [](auto& r) {
    for (int i = 1; i <= 100; ++i) *r.add_lines() = Line(absl::StrCat("SKU-", i), 1);
  });
  place("100000 lines", [](auto& r) {
    for (int i = 1; i < 100'000; ++i) *r.add_lines() = Line("SKU-1", 1);
  });

  for (const auto& bad : BadIds()) {
    cases.push_back({"GetOrder order_id " + bad.name,
                     [&orders, v = bad.value] {
                       v1::GetOrderRequest r;
                       r.set_order_id(v);
                       v1::Order response;
                       return orders->GetOrder(Ctx().get(), r, &response);
                     },
                     invalid});
    cases.push_back({"CancelOrder order_id " + bad.name,
                     [&orders, v = bad.value] {
                       v1::CancelOrderRequest r;
                       r.set_request_id("hostile-cancel");
                       r.set_order_id(v);
                       v1::Order response;
                       return orders->CancelOrder(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  for (const auto& bad : BadRequestIds()) {
    cases.push_back({"CancelOrder request_id " + bad.name,
                     [&orders, v = bad.value] {
                       v1::CancelOrderRequest r;
                       r.set_request_id(v);
                       r.set_order_id("o-1");
                       v1::Order response;
                       return orders->CancelOrder(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  for (int64_t ms : {int64_t{-1}, int64_t{30'001}, kInt64Min, kInt64Max}) {
    cases.push_back({absl::StrCat("GetOrder wait_for_settlement_ms ", ms),
                     [&orders, ms] {
                       v1::GetOrderRequest r;
                       r.set_order_id("o-1");
                       r.set_wait_for_settlement_ms(ms);
                       v1::Order response;
                       return orders->GetOrder(Ctx().get(), r, &response);
                     },
                     invalid});
    cases.push_back({absl::StrCat("CancelOrder wait_for_settlement_ms ", ms),
                     [&orders, ms] {
                       v1::CancelOrderRequest r;
                       r.set_request_id("hostile-cancel");
                       r.set_order_id("o-1");
                       r.set_wait_for_settlement_ms(ms);
                       v1::Order response;
                       return orders->CancelOrder(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  RunAll(cases);
}

TEST_F(HostileRpcTest, InventoryServiceRefusesMalformedInputAndWritesNothing) {
  auto inventory = server_->Inventory();
  std::vector<Case> cases;
  const std::set<Code> invalid = {Code::INVALID_ARGUMENT};
  auto adjust = [&](std::string name, std::string request_id, std::string sku, int64_t delta) {
    cases.push_back({"AdjustStock " + name,
                     [&inventory, request_id, sku, delta] {
                       v1::AdjustStockRequest r;
                       r.set_request_id(request_id);
                       r.set_sku(sku);
                       r.set_delta(delta);
                       v1::AdjustStockResponse response;
                       return inventory->AdjustStock(Ctx().get(), r, &response);
                     },
                     invalid});
  };
  adjust("empty message", "", "", 0);
  for (const auto& bad : BadRequestIds()) adjust("request_id " + bad.name, bad.value, "SKU-1", 1);
  for (const auto& bad : BadIds()) {
    adjust("sku " + bad.name, "hostile-adjust", bad.value, 1);
    cases.push_back({"GetStock sku " + bad.name,
                     [&inventory, v = bad.value] {
                       v1::GetStockRequest r;
                       r.set_sku(v);
                       v1::Stock response;
                       return inventory->GetStock(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  for (int64_t delta :
       {int64_t{0}, int64_t{1'000'001}, int64_t{-1'000'001}, kInt64Min, kInt64Max, kInt64Min + 1}) {
    adjust(absl::StrCat("delta ", delta), "hostile-adjust", "SKU-1", delta);
  }
  RunAll(cases);
}

TEST_F(HostileRpcTest, CouponServiceRefusesMalformedInputAndWritesNothing) {
  auto coupons = server_->Coupons();
  std::vector<Case> cases;
  const std::set<Code> invalid = {Code::INVALID_ARGUMENT};
  auto create = [&](std::string name, std::function<void(v1::CreateCampaignRequest&)> edit) {
    cases.push_back({"CreateCampaign " + name,
                     [&coupons, edit] {
                       v1::CreateCampaignRequest r;
                       r.set_request_id("hostile-campaign");
                       r.set_code("SALE");
                       r.set_total_quantity(10);
                       r.set_per_user_limit(1);
                       edit(r);
                       v1::CreateCampaignResponse response;
                       return coupons->CreateCampaign(Ctx().get(), r, &response);
                     },
                     invalid});
  };
  auto request = [&](std::string name, std::function<void(v1::RequestCouponRequest&)> edit) {
    cases.push_back({"RequestCoupon " + name,
                     [&coupons, edit] {
                       v1::RequestCouponRequest r;
                       r.set_request_id("hostile-coupon");
                       r.set_user_id("user-1");
                       r.set_code("SALE");
                       edit(r);
                       v1::RequestCouponResponse response;
                       return coupons->RequestCoupon(Ctx().get(), r, &response);
                     },
                     invalid});
  };
  create("empty message", [](auto& r) { r.Clear(); });
  request("empty message", [](auto& r) { r.Clear(); });
  for (const auto& bad : BadRequestIds()) {
    create("request_id " + bad.name, [v = bad.value](auto& r) { r.set_request_id(v); });
    request("request_id " + bad.name, [v = bad.value](auto& r) { r.set_request_id(v); });
    cases.push_back({"GetCouponRequest request_id " + bad.name,
                     [&coupons, v = bad.value] {
                       v1::GetCouponRequestRequest r;
                       r.set_request_id(v);
                       v1::CouponRequest response;
                       return coupons->GetCouponRequest(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  for (const auto& bad : BadIds()) {
    create("code " + bad.name, [v = bad.value](auto& r) { r.set_code(v); });
    request("code " + bad.name, [v = bad.value](auto& r) { r.set_code(v); });
    request("user_id " + bad.name, [v = bad.value](auto& r) { r.set_user_id(v); });
    cases.push_back({"GetCampaign code " + bad.name,
                     [&coupons, v = bad.value] {
                       v1::GetCampaignRequest r;
                       r.set_code(v);
                       v1::Campaign response;
                       return coupons->GetCampaign(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  for (int64_t q : {int64_t{0}, int64_t{-1}, int64_t{1'000'001}, kInt64Min, kInt64Max}) {
    create(absl::StrCat("total_quantity ", q), [q](auto& r) { r.set_total_quantity(q); });
  }
  for (int64_t limit : {int64_t{-1}, int64_t{1'000'001}, kInt64Min, kInt64Max}) {
    create(absl::StrCat("per_user_limit ", limit),
           [limit](auto& r) { r.set_per_user_limit(limit); });
  }
  for (int64_t ms : {int64_t{-1}, int64_t{30'001}, kInt64Min, kInt64Max}) {
    cases.push_back({absl::StrCat("GetCouponRequest wait_for_settlement_ms ", ms),
                     [&coupons, ms] {
                       v1::GetCouponRequestRequest r;
                       r.set_request_id("q-1");
                       r.set_wait_for_settlement_ms(ms);
                       v1::CouponRequest response;
                       return coupons->GetCouponRequest(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  RunAll(cases);
}

TEST_F(HostileRpcTest, EventStoreAndDeadLetterServicesRefuseMalformedInput) {
  auto log = server_->EventStore();
  auto dead_letters = server_->DeadLetters();
  std::vector<Case> cases;
  const std::set<Code> invalid = {Code::INVALID_ARGUMENT};
  for (uint32_t max_count : {uint32_t{1'001}, std::numeric_limits<uint32_t>::max()}) {
    cases.push_back({absl::StrCat("ReadAll max_count ", max_count),
                     [&log, max_count] {
                       v1::ReadAllRequest r;
                       r.set_max_count(max_count);
                       v1::ReadAllResponse response;
                       return log->ReadAll(Ctx().get(), r, &response);
                     },
                     invalid});
    cases.push_back({absl::StrCat("ReadStream max_count ", max_count),
                     [&log, max_count] {
                       v1::ReadStreamRequest r;
                       r.set_stream_id("order-o-1");
                       r.set_max_count(max_count);
                       v1::ReadStreamResponse response;
                       return log->ReadStream(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  for (int64_t from : {int64_t{-1}, kInt64Min}) {
    cases.push_back({absl::StrCat("ReadStream from_version ", from),
                     [&log, from] {
                       v1::ReadStreamRequest r;
                       r.set_stream_id("order-o-1");
                       r.set_from_version(from);
                       v1::ReadStreamResponse response;
                       return log->ReadStream(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  for (const auto& bad : BadIds()) {
    cases.push_back({"ReadStream stream_id " + bad.name,
                     [&log, v = bad.value] {
                       v1::ReadStreamRequest r;
                       r.set_stream_id(v);
                       v1::ReadStreamResponse response;
                       return log->ReadStream(Ctx().get(), r, &response);
                     },
                     invalid});
  }
  // Far-away positions are not errors: an empty page, and nothing wraps.
  cases.push_back({"ReadAll from_position UINT64_MAX",
                   [&log] {
                     v1::ReadAllRequest r;
                     r.set_from_position(std::numeric_limits<uint64_t>::max());
                     v1::ReadAllResponse response;
                     grpc::Status s = log->ReadAll(Ctx().get(), r, &response);
                     if (s.ok() && response.events_size() != 0) {
                       return grpc::Status(grpc::StatusCode::DATA_LOSS, "events past the head");
                     }
                     return s;
                   },
                   {Code::OK}});
  cases.push_back({"ReadStream from_version INT64_MAX",
                   [&log] {
                     v1::ReadStreamRequest r;
                     r.set_stream_id("order-o-1");
                     r.set_from_version(kInt64Max);
                     v1::ReadStreamResponse response;
                     return log->ReadStream(Ctx().get(), r, &response);
                   },
                   {Code::OK}});
  // Dead letters: ids are "<dlt topic>/<partition>/<offset>"; the contract
  // names no status for a malformed one, so any refusal that is not a crash,
  // a hang or an internal error is accepted.
  const std::set<Code> refused = {Code::INVALID_ARGUMENT, Code::NOT_FOUND};
  for (const auto& bad : BadIds()) {
    cases.push_back({"ReplayDeadLetter id " + bad.name,
                     [&dead_letters, v = bad.value] {
                       v1::ReplayDeadLetterRequest r;
                       r.set_id(v);
                       v1::ReplayDeadLetterResponse response;
                       return dead_letters->ReplayDeadLetter(Ctx().get(), r, &response);
                     },
                     refused});
  }
  for (const auto& id : {std::string("surge.orders.dlt/-1/-1"),
                         std::string("surge.orders.dlt/99999999999999999999/0"),
                         std::string("surge.orders.dlt/0/9223372036854775808"), std::string("///"),
                         std::string("../../etc/passwd")}) {
    cases.push_back({"ReplayDeadLetter id " + id,
                     [&dead_letters, id] {
                       v1::ReplayDeadLetterRequest r;
                       r.set_id(id);
                       v1::ReplayDeadLetterResponse response;
                       return dead_letters->ReplayDeadLetter(Ctx().get(), r, &response);
                     },
                     refused});
  }
  const std::set<Code> listed = {Code::OK, Code::INVALID_ARGUMENT};
  for (const auto& bad : BadIds()) {
    cases.push_back({"ListDeadLetters topic " + bad.name,
                     [&dead_letters, v = bad.value] {
                       v1::ListDeadLettersRequest r;
                       r.set_topic(v);
                       r.set_limit(std::numeric_limits<uint32_t>::max());
                       v1::ListDeadLettersResponse response;
                       grpc::Status s = dead_letters->ListDeadLetters(Ctx().get(), r, &response);
                       if (s.ok() && response.entries_size() != 0) {
                         return grpc::Status(grpc::StatusCode::DATA_LOSS, "entries from nowhere");
                       }
                       return s;
                     },
                     listed});
  }
  RunAll(cases);
}

}  // namespace
}  // namespace surge::testing
