// Every implemented RPC over real gRPC against a child surge-server.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/server_test_util.h"

namespace surge::testing {
namespace {

using ::testing::HasSubstr;

class RpcTest : public ServerTest {};

TEST_F(RpcTest, PlaceOrderThenGetOrderAnswersPending) {
  auto orders = server_->Orders();
  v1::PlaceOrderResponse placed;
  grpc::Status status = orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(placed.order_id().empty());
  EXPECT_EQ(placed.status(), v1::ORDER_STATUS_PENDING);
  EXPECT_EQ(placed.position(), 1u);
  EXPECT_FALSE(placed.duplicate());
  EXPECT_EQ(CommandEvents(), 3);  // OrderPlaced + two StockDecreaseRequested

  v1::GetOrderRequest get;
  get.set_order_id(placed.order_id());
  v1::Order order;
  status = orders->GetOrder(Ctx().get(), get, &order);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(order.order_id(), placed.order_id());
  EXPECT_EQ(order.user_id(), "user-1");
  // PENDING unless a running saga already decided.
  EXPECT_NE(order.status(), v1::ORDER_STATUS_UNSPECIFIED);
  EXPECT_EQ(order.lines_size(), 2);

  get.set_order_id("o-unknown");
  EXPECT_EQ(orders->GetOrder(Ctx().get(), get, &order).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RpcTest, RepeatedPlaceOrderIsADuplicateOfTheSameOrderAndWritesNothing) {
  auto orders = server_->Orders();
  v1::PlaceOrderResponse first, again;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &first).ok());
  const int written = CommandEvents();
  grpc::Status status = orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.order_id(), first.order_id());
  EXPECT_EQ(again.position(), first.position());
  EXPECT_EQ(CommandEvents(), written);

  // Same request_id, different order: refused, nothing written.
  v1::PlaceOrderRequest other = OrderRequest("r-1");
  other.mutable_lines(0)->set_quantity(9);
  EXPECT_EQ(orders->PlaceOrder(Ctx().get(), other, &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(CommandEvents(), written);
}

TEST_F(RpcTest, GetOrderWithAWaitAnswersWhenSettledOrPendingAtTheDeadline) {
  auto orders = server_->Orders();
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());
  v1::GetOrderRequest get;
  get.set_order_id(placed.order_id());
  get.set_wait_for_settlement_ms(300);
  v1::Order order;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(orders->GetOrder(Ctx().get(), get, &order).ok());
  const absl::Duration took = absl::Now() - start;
  // Without a saga deciding, the wait runs to its deadline; with one, it
  // ends as soon as the order settles.
  if (order.status() == v1::ORDER_STATUS_PENDING) {
    EXPECT_GE(took, absl::Milliseconds(300));
  }
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(RpcTest, CancelOrderAppendsARequestAndAnswersTheOrder) {
  auto orders = server_->Orders();
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());
  v1::CancelOrderRequest cancel;
  cancel.set_request_id("x-1");
  cancel.set_order_id(placed.order_id());
  v1::Order order;
  grpc::Status status = orders->CancelOrder(Ctx().get(), cancel, &order);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(order.order_id(), placed.order_id());
  EXPECT_EQ(CommandEvents(), 4);
  // A repeat writes nothing more.
  ASSERT_TRUE(orders->CancelOrder(Ctx().get(), cancel, &order).ok());
  EXPECT_EQ(CommandEvents(), 4);

  cancel.set_request_id("x-2");
  cancel.set_order_id("o-unknown");
  EXPECT_EQ(orders->CancelOrder(Ctx().get(), cancel, &order).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CommandEvents(), 4);
}

TEST_F(RpcTest, AdjustStockThenGetStock) {
  auto inventory = server_->Inventory();
  v1::AdjustStockRequest adjust;
  adjust.set_request_id("s-1");
  adjust.set_sku("sku-a");
  adjust.set_delta(10);
  v1::AdjustStockResponse adjusted;
  grpc::Status status = inventory->AdjustStock(Ctx().get(), adjust, &adjusted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(adjusted.position(), 1u);
  EXPECT_FALSE(adjusted.duplicate());
  ASSERT_TRUE(inventory->AdjustStock(Ctx().get(), adjust, &adjusted).ok());
  EXPECT_TRUE(adjusted.duplicate());
  EXPECT_EQ(CommandEvents(), 1);

  v1::GetStockRequest get;
  get.set_sku("sku-a");
  v1::Stock stock;
  ASSERT_TRUE(inventory->GetStock(Ctx().get(), get, &stock).ok());
  EXPECT_EQ(stock.sku(), "sku-a");
  get.set_sku("sku-none");
  EXPECT_EQ(inventory->GetStock(Ctx().get(), get, &stock).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(RpcTest, CampaignsAndCouponRequests) {
  auto coupons = server_->Coupons();
  v1::CreateCampaignRequest create;
  create.set_request_id("c-1");
  create.set_code("SALE");
  create.set_total_quantity(3);
  v1::CreateCampaignResponse created;
  grpc::Status status = coupons->CreateCampaign(Ctx().get(), create, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.position(), 1u);

  // The same request again is a duplicate; another request for the code clashes.
  ASSERT_TRUE(coupons->CreateCampaign(Ctx().get(), create, &created).ok());
  EXPECT_TRUE(created.duplicate());
  create.set_request_id("c-2");
  status = coupons->CreateCampaign(Ctx().get(), create, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("campaign SALE already exists"));
  EXPECT_EQ(CommandEvents(), 1);

  v1::GetCampaignRequest get_campaign;
  get_campaign.set_code("SALE");
  v1::Campaign campaign;
  ASSERT_TRUE(coupons->GetCampaign(Ctx().get(), get_campaign, &campaign).ok());
  EXPECT_EQ(campaign.total_quantity(), 3);
  EXPECT_EQ(campaign.remaining(), 3);
  EXPECT_EQ(campaign.per_user_limit(), 1);

  v1::RequestCouponRequest request;
  request.set_request_id("q-1");
  request.set_user_id("u-1");
  request.set_code("NOPE");
  v1::RequestCouponResponse requested;
  EXPECT_EQ(coupons->RequestCoupon(Ctx().get(), request, &requested).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CommandEvents(), 1);
  request.set_code("SALE");
  ASSERT_TRUE(coupons->RequestCoupon(Ctx().get(), request, &requested).ok());
  EXPECT_GT(requested.position(), created.position());
  EXPECT_FALSE(requested.duplicate());
  const uint64_t first_position = requested.position();
  ASSERT_TRUE(coupons->RequestCoupon(Ctx().get(), request, &requested).ok());
  EXPECT_TRUE(requested.duplicate());
  EXPECT_EQ(requested.position(), first_position);
  EXPECT_EQ(CommandEvents(), 2);

  v1::GetCouponRequestRequest get_request;
  get_request.set_request_id("q-1");
  v1::CouponRequest coupon_request;
  ASSERT_TRUE(coupons->GetCouponRequest(Ctx().get(), get_request, &coupon_request).ok());
  // PENDING unless a running coupon projection already decided.
  EXPECT_NE(coupon_request.status(), v1::COUPON_REQUEST_STATUS_UNSPECIFIED);
  EXPECT_EQ(coupon_request.user_id(), "u-1");
  EXPECT_EQ(coupon_request.code(), "SALE");
}

TEST_F(RpcTest, ReadAllAndReadStreamPageThroughTheLog) {
  auto orders = server_->Orders();
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-2"), &placed).ok());
  auto log = server_->EventStore();

  v1::ReadAllRequest read_all;
  read_all.set_max_count(4);
  v1::ReadAllResponse page;
  ASSERT_TRUE(log->ReadAll(Ctx().get(), read_all, &page).ok());
  ASSERT_EQ(page.events_size(), 4);
  EXPECT_EQ(page.events(0).position(), 1u);
  EXPECT_EQ(page.events(3).position(), 4u);
  EXPECT_EQ(page.next_position(), 5u);
  EXPECT_GE(page.head_position(), 6u);
  read_all.set_from_position(page.next_position());
  ASSERT_TRUE(log->ReadAll(Ctx().get(), read_all, &page).ok());
  ASSERT_GE(page.events_size(), 2);
  EXPECT_EQ(page.events(0).position(), 5u);
  EXPECT_EQ(page.events(1).position(), 6u);

  v1::ReadStreamRequest read_stream;
  read_stream.set_stream_id("order-" + placed.order_id());
  read_stream.set_from_version(1);
  v1::ReadStreamResponse stream;
  ASSERT_TRUE(log->ReadStream(Ctx().get(), read_stream, &stream).ok());
  ASSERT_EQ(stream.events_size(), 2);
  EXPECT_EQ(stream.events(0).stream_version(), 1);
  EXPECT_TRUE(stream.events(0).has_stock_decrease_requested());
  EXPECT_GE(stream.current_version(), 2);
  read_stream.set_stream_id("order-none");
  ASSERT_TRUE(log->ReadStream(Ctx().get(), read_stream, &stream).ok());
  EXPECT_EQ(stream.events_size(), 0);
  EXPECT_EQ(stream.current_version(), -1);
}

TEST_F(RpcTest, DeadLettersAreEmptyOnAFreshServer) {
  v1::ListDeadLettersResponse list;
  grpc::Status status =
      server_->DeadLetters()->ListDeadLetters(Ctx().get(), v1::ListDeadLettersRequest(), &list);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(list.entries_size(), 0);
}

}  // namespace
}  // namespace surge::testing
