#include "domain/queries.h"

#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "domain/commands.h"
#include "gtest/gtest.h"
#include "projections/read_models.h"
#include "tests/domain/test_store.h"
#include "tests/support/temp_dir.h"

namespace surge::domain {
namespace {

v1::OrderLine Line(std::string sku, int64_t quantity) {
  v1::OrderLine line;
  line.set_sku(std::move(sku));
  line.set_quantity(quantity);
  return line;
}

class QueryHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    commands_ = std::make_unique<CommandHandler>(*store_);
    queries_ = std::make_unique<QueryHandler>(*store_, notifier_);
  }

  // Writes a read-model row the way a projection does (an extra write).
  void PutRow(const char* cf, const std::string& key, const google::protobuf::Message& row) {
    eventstore::AppendRequest request;
    request.extra_writes.push_back({cf, key, row.SerializeAsString()});
    auto result = store_->Append(std::move(request));
    ASSERT_TRUE(result.ok()) << result.status();
  }

  std::string PlaceOrder() {
    auto placed = commands_->PlaceOrder(
        {.request_id = "r-1", .user_id = "user-1", .lines = {Line("sku-a", 2)}});
    EXPECT_TRUE(placed.ok()) << placed.status();
    return placed.ok() ? placed->order_id : "";
  }

  testing::TempDir dir_;
  Notifier notifier_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<CommandHandler> commands_;
  std::unique_ptr<QueryHandler> queries_;
};

TEST_F(QueryHandlerTest, OrderOnlyInTheLogIsPendingFromOrderPlaced) {
  const std::string id = PlaceOrder();
  auto order = queries_->GetOrder(id, 0);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->order_id(), id);
  EXPECT_EQ(order->user_id(), "user-1");
  EXPECT_EQ(order->status(), v1::ORDER_STATUS_PENDING);
  ASSERT_EQ(order->lines_size(), 1);
  EXPECT_EQ(order->lines(0).sku(), "sku-a");
  EXPECT_EQ(order->updated_position(), 1u);
}

TEST_F(QueryHandlerTest, OrderRowWinsOverTheLog) {
  const std::string id = PlaceOrder();
  v1::Order row;
  row.set_order_id(id);
  row.set_status(v1::ORDER_STATUS_CANCELLED);
  row.set_reason("out of stock");
  row.set_updated_position(42);
  PutRow(projections::kOrdersCf, id, row);
  auto order = queries_->GetOrder(id, 0);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(order->reason(), "out of stock");
  EXPECT_EQ(order->updated_position(), 42u);
}

TEST_F(QueryHandlerTest, UnknownThingsAreNotFoundAndBadIdsInvalid) {
  EXPECT_EQ(queries_->GetOrder("o-none", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queries_->GetOrder("o-none", 1000).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queries_->GetStock("none").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queries_->GetCampaign("none").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queries_->GetCouponRequest("none", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(queries_->GetOrder("o none", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queries_->GetOrder("o", 30'001).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(queries_->GetStock("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(QueryHandlerTest, StockAndCampaignFallBackToTheLog) {
  ASSERT_TRUE(commands_->AdjustStock({.request_id = "s", .sku = "sku-a", .delta = 5}).ok());
  auto stock = queries_->GetStock("sku-a");
  ASSERT_TRUE(stock.ok()) << stock.status();
  EXPECT_EQ(stock->sku(), "sku-a");
  EXPECT_EQ(stock->available(), 0);

  ASSERT_TRUE(commands_
                  ->CreateCampaign(
                      {.request_id = "c", .code = "SALE", .total_quantity = 7, .per_user_limit = 2})
                  .ok());
  auto campaign = queries_->GetCampaign("SALE");
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  EXPECT_EQ(campaign->total_quantity(), 7);
  EXPECT_EQ(campaign->issued(), 0);
  EXPECT_EQ(campaign->remaining(), 7);
  EXPECT_EQ(campaign->per_user_limit(), 2);

  v1::Stock row;
  row.set_sku("sku-a");
  row.set_available(5);
  PutRow(projections::kStockCf, "sku-a", row);
  EXPECT_EQ(queries_->GetStock("sku-a")->available(), 5);
}

TEST_F(QueryHandlerTest, CouponRequestOnlyInTheLogIsPending) {
  ASSERT_TRUE(
      commands_->CreateCampaign({.request_id = "c", .code = "SALE", .total_quantity = 1}).ok());
  ASSERT_TRUE(
      commands_->RequestCoupon({.request_id = "q-1", .user_id = "u-9", .code = "SALE"}).ok());
  auto request = queries_->GetCouponRequest("q-1", 0);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->request_id(), "q-1");
  EXPECT_EQ(request->user_id(), "u-9");
  EXPECT_EQ(request->code(), "SALE");
  EXPECT_EQ(request->status(), v1::COUPON_REQUEST_STATUS_PENDING);
  EXPECT_EQ(request->updated_position(), 2u);
}

TEST_F(QueryHandlerTest, WaitForSettlementWakesOnTheNotifier) {
  const std::string id = PlaceOrder();
  absl::Notification answered;
  absl::StatusOr<v1::Order> answer;
  // Far longer than the test waits below: only a wake-up can answer in time.
  queries_->GetOrderAsync(id, 30'000, [&](absl::StatusOr<v1::Order> order) {
    answer = std::move(order);
    answered.Notify();
  });
  v1::Order row;
  row.set_order_id(id);
  row.set_status(v1::ORDER_STATUS_CONFIRMED);
  PutRow(projections::kOrdersCf, id, row);
  notifier_.Notify();
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)))
      << "the settlement wait did not wake on Notify()";
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status(), v1::ORDER_STATUS_CONFIRMED);
}

TEST_F(QueryHandlerTest, CouponWaitWakesOnTheNotifier) {
  ASSERT_TRUE(
      commands_->CreateCampaign({.request_id = "c", .code = "SALE", .total_quantity = 1}).ok());
  ASSERT_TRUE(commands_->RequestCoupon({.request_id = "q-1", .user_id = "u", .code = "SALE"}).ok());
  std::thread projection([&] {
    v1::CouponRequest row;
    row.set_request_id("q-1");
    row.set_status(v1::COUPON_REQUEST_STATUS_ISSUED);
    row.set_coupon_id("cp-1");
    PutRow(projections::kCouponRequestsCf, "q-1", row);
    notifier_.Notify();
  });
  const absl::Time start = absl::Now();
  auto request = queries_->GetCouponRequest("q-1", 30'000);
  projection.join();
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->status(), v1::COUPON_REQUEST_STATUS_ISSUED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(QueryHandlerTest, WaitEndsAtTheDeadlineWithPending) {
  const std::string id = PlaceOrder();
  const absl::Time start = absl::Now();
  auto order = queries_->GetOrder(id, 300);
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->status(), v1::ORDER_STATUS_PENDING);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST_F(QueryHandlerTest, UnrelatedNotificationsDoNotEndAWait) {
  const std::string id = PlaceOrder();
  absl::Notification answered;
  queries_->GetOrderAsync(id, 30'000, [&](absl::StatusOr<v1::Order>) { answered.Notify(); });
  for (int i = 0; i < 20; ++i) notifier_.Notify();
  EXPECT_FALSE(answered.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
  EXPECT_EQ(queries_->pending_waits(), 1u);
  queries_->DrainWaits();  // also what shutdown does
  EXPECT_TRUE(answered.HasBeenNotified());
}

TEST_F(QueryHandlerTest, DrainAnswersPendingAndLaterWaitsAtOnce) {
  const std::string id = PlaceOrder();
  absl::Notification answered;
  absl::StatusOr<v1::Order> answer;
  queries_->GetOrderAsync(id, 30'000, [&](absl::StatusOr<v1::Order> order) {
    answer = std::move(order);
    answered.Notify();
  });
  queries_->DrainWaits();
  ASSERT_TRUE(answered.HasBeenNotified());
  EXPECT_EQ(answer->status(), v1::ORDER_STATUS_PENDING);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(queries_->GetOrder(id, 30'000).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace surge::domain
