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
  EXPECT_EQ(Head(), 3u);  // OrderPlaced + two StockDecreaseRequested

  v1::GetOrderRequest get;
  get.set_order_id(placed.order_id());
  v1::Order order;
  status = orders->GetOrder(Ctx().get(), get, &order);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(order.order_id(), placed.order_id());
  EXPECT_EQ(order.user_id(), "user-1");
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_PENDING);
  EXPECT_EQ(order.lines_size(), 2);

  get.set_order_id("o-unknown");
  EXPECT_EQ(orders->GetOrder(Ctx().get(), get, &order).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RpcTest, RepeatedPlaceOrderIsADuplicateOfTheSameOrderAndWritesNothing) {
  auto orders = server_->Orders();
  v1::PlaceOrderResponse first, again;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &first).ok());
  const uint64_t head = Head();
  grpc::Status status = orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.order_id(), first.order_id());
  EXPECT_EQ(again.position(), first.position());
  EXPECT_EQ(Head(), head);

  // Same request_id, different order: refused, nothing written.
  v1::PlaceOrderRequest other = OrderRequest("r-1");
  other.mutable_lines(0)->set_quantity(9);
  EXPECT_EQ(orders->PlaceOrder(Ctx().get(), other, &again).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Head(), head);
}

TEST_F(RpcTest, GetOrderWithAWaitAnswersPendingAtTheDeadline) {
  auto orders = server_->Orders();
  v1::PlaceOrderResponse placed;
  ASSERT_TRUE(orders->PlaceOrder(Ctx().get(), OrderRequest("r-1"), &placed).ok());
  v1::GetOrderRequest get;
  get.set_order_id(placed.order_id());
  get.set_wait_for_settlement_ms(300);
  v1::Order order;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(orders->GetOrder(Ctx().get(), get, &order).ok());
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_PENDING);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
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
  EXPECT_EQ(Head(), 4u);
  // A repeat writes nothing more.
  ASSERT_TRUE(orders->CancelOrder(Ctx().get(), cancel, &order).ok());
  EXPECT_EQ(Head(), 4u);

  cancel.set_request_id("x-2");
  cancel.set_order_id("o-unknown");
  EXPECT_EQ(orders->CancelOrder(Ctx().get(), cancel, &order).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Head(), 4u);
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
  EXPECT_EQ(Head(), 1u);

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
  EXPECT_EQ(Head(), 1u);

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
  EXPECT_EQ(Head(), 1u);
  request.set_code("SALE");
  ASSERT_TRUE(coupons->RequestCoupon(Ctx().get(), request, &requested).ok());
  EXPECT_EQ(requested.position(), 2u);
  EXPECT_FALSE(requested.duplicate());
  ASSERT_TRUE(coupons->RequestCoupon(Ctx().get(), request, &requested).ok());
  EXPECT_TRUE(requested.duplicate());
  EXPECT_EQ(Head(), 2u);

  v1::GetCouponRequestRequest get_request;
  get_request.set_request_id("q-1");
  v1::CouponRequest coupon_request;
  ASSERT_TRUE(coupons->GetCouponRequest(Ctx().get(), get_request, &coupon_request).ok());
  EXPECT_EQ(coupon_request.status(), v1::COUPON_REQUEST_STATUS_PENDING);
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
  EXPECT_EQ(page.next_position(), 5u);
  EXPECT_EQ(page.head_position(), 6u);
  read_all.set_from_position(page.next_position());
  ASSERT_TRUE(log->ReadAll(Ctx().get(), read_all, &page).ok());
  ASSERT_EQ(page.events_size(), 2);
  EXPECT_EQ(page.events(1).position(), 6u);

  v1::ReadStreamRequest read_stream;
  read_stream.set_stream_id("order-" + placed.order_id());
  read_stream.set_from_version(1);
  v1::ReadStreamResponse stream;
  ASSERT_TRUE(log->ReadStream(Ctx().get(), read_stream, &stream).ok());
  ASSERT_EQ(stream.events_size(), 2);
  EXPECT_EQ(stream.events(0).stream_version(), 1);
  EXPECT_TRUE(stream.events(0).has_stock_decrease_requested());
  EXPECT_EQ(stream.current_version(), 2);
  read_stream.set_stream_id("order-none");
  ASSERT_TRUE(log->ReadStream(Ctx().get(), read_stream, &stream).ok());
  EXPECT_EQ(stream.events_size(), 0);
  EXPECT_EQ(stream.current_version(), -1);
}

TEST_F(RpcTest, DeadLettersAreNotServedYet) {
  v1::ListDeadLettersResponse list;
  EXPECT_EQ(server_->DeadLetters()
                ->ListDeadLetters(Ctx().get(), v1::ListDeadLettersRequest(), &list)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace surge::testing
