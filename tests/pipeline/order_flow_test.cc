// End-to-end order saga over gRPC against the real server and its embedded
// Kafka broker: stock reservation, compensation, and user cancellation.
#include <atomic>
#include <barrier>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/pipeline/pipeline_test_util.h"

namespace surge::testing {
namespace {

using OrderFlowTest = PipelineTest;

// The reference scenario: stock 10; three users order 5 at the same moment.
TEST_F(OrderFlowTest, ThreeConcurrentOrdersOfFiveAgainstTenConfirmTwoAndCancelOne) {
  client_->AdjustStock("sku-ref", 10);

  std::vector<std::string> order_ids(3);
  std::barrier start(3);
  std::vector<std::thread> users;
  for (int u = 0; u < 3; ++u) {
    users.emplace_back([&, u] {
      start.arrive_and_wait();
      auto placed =
          client_->PlaceOrder(absl::StrCat("ref-", u), absl::StrCat("user-", u), {{"sku-ref", 5}});
      ASSERT_TRUE(placed.ok()) << placed.status();
      EXPECT_EQ(placed->status(), v1::ORDER_STATUS_PENDING);
      order_ids[u] = placed->order_id();
    });
  }
  for (auto& t : users) t.join();

  std::map<v1::OrderStatus, int> by_status;
  std::string cancelled_id;
  for (const std::string& id : order_ids) {
    auto order = client_->SettledOrder(id);
    ASSERT_TRUE(order.ok()) << order.status() << "\n" << server_->LogTail();
    ++by_status[order->status()];
    if (order->status() == v1::ORDER_STATUS_CANCELLED) {
      cancelled_id = id;
      EXPECT_FALSE(order->reason().empty());
    }
  }
  EXPECT_EQ(by_status[v1::ORDER_STATUS_CONFIRMED], 2);
  EXPECT_EQ(by_status[v1::ORDER_STATUS_CANCELLED], 1);
  EXPECT_TRUE(client_->StockBecomes("sku-ref", 0)) << client_->GetStock("sku-ref").status();
  auto stock = client_->GetStock("sku-ref");
  ASSERT_TRUE(stock.ok());
  EXPECT_EQ(stock->available(), 0);
  EXPECT_EQ(stock->reserved_total(), 10);

  // The cancelled order's story is in the log, in order: placed, decrease
  // requested, decrease failed, cancelled.
  std::vector<v1::Event::PayloadCase> story;
  for (const v1::Event& e : client_->ReadAll()) {
    if (e.correlation_id() == cancelled_id) story.push_back(e.payload_case());
  }
  std::vector<v1::Event::PayloadCase> expected = {
      v1::Event::kOrderPlaced, v1::Event::kStockDecreaseRequested, v1::Event::kStockDecreaseFailed,
      v1::Event::kOrderCancelled};
  EXPECT_EQ(story, expected);
}

TEST_F(OrderFlowTest, MultiLineOrderWithShortSecondSkuIsCancelledAndFirstSkuRestored) {
  client_->AdjustStock("sku-a", 10);
  client_->AdjustStock("sku-b", 1);
  auto placed = client_->PlaceOrder("multi-1", "user-1", {{"sku-a", 3}, {"sku-b", 5}});
  ASSERT_TRUE(placed.ok()) << placed.status();

  auto order = client_->SettledOrder(placed->order_id());
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_NE(order->reason().find("sku-b"), std::string::npos) << order->reason();
  EXPECT_TRUE(client_->StockBecomes("sku-a", 10)) << "first line's stock not released";
  EXPECT_TRUE(client_->StockBecomes("sku-b", 1));

  // The compensation is in the log: a release requested and applied for
  // line 0, after the cancellation... or before it, never missing.
  int release_requested = 0, released = 0;
  for (const v1::Event& e : client_->ReadAll()) {
    if (e.correlation_id() != placed->order_id()) continue;
    if (e.has_stock_release_requested()) {
      ++release_requested;
      EXPECT_EQ(e.stock_release_requested().sku(), "sku-a");
    }
    if (e.has_stock_released()) ++released;
  }
  EXPECT_EQ(release_requested, 1);
  EXPECT_EQ(released, 1);
}

TEST_F(OrderFlowTest, UserCancelOfConfirmedOrderReleasesStockAndRepeatIsIdempotent) {
  client_->AdjustStock("sku-c", 4);
  auto placed = client_->PlaceOrder("cancel-me", "user-9", {{"sku-c", 3}});
  ASSERT_TRUE(placed.ok());
  auto order = client_->SettledOrder(placed->order_id());
  ASSERT_TRUE(order.ok());
  ASSERT_EQ(order->status(), v1::ORDER_STATUS_CONFIRMED);
  EXPECT_TRUE(client_->StockBecomes("sku-c", 1));

  for (const char* request_id : {"cancel-1", "cancel-1", "cancel-2"}) {
    v1::CancelOrderRequest request;
    request.set_request_id(request_id);
    request.set_order_id(placed->order_id());
    request.set_wait_for_settlement_ms(20000);
    v1::Order cancelled;
    grpc::Status status =
        server_->Orders()->CancelOrder(Deadline(absl::Seconds(30)).get(), request, &cancelled);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(cancelled.status(), v1::ORDER_STATUS_CANCELLED) << request_id;
  }
  EXPECT_TRUE(client_->StockBecomes("sku-c", 4));

  int cancelled_events = 0, released = 0;
  for (const v1::Event& e : client_->ReadAll()) {
    if (e.correlation_id() != placed->order_id()) continue;
    cancelled_events += e.has_order_cancelled();
    released += e.has_stock_released();
  }
  EXPECT_EQ(cancelled_events, 1);
  EXPECT_EQ(released, 1);
}

TEST_F(OrderFlowTest, ReadRightAfterPlaceAnswersPendingOrSettledNeverNotFound) {
  client_->AdjustStock("sku-d", 1000);
  for (int i = 0; i < 50; ++i) {
    auto placed = client_->PlaceOrder(absl::StrCat("now-", i), "user-1", {{"sku-d", 1}});
    ASSERT_TRUE(placed.ok());
    auto order = client_->SettledOrder(placed->order_id(), absl::ZeroDuration());
    ASSERT_TRUE(order.ok()) << order.status();
    EXPECT_NE(order->status(), v1::ORDER_STATUS_UNSPECIFIED);
  }
}

// The same saga on other shapes of the embedded cluster than the default
// (one broker, one partition per topic): six partitions per topic (keys
// spread over partitions, as on an external cluster), and three brokers
// (partitions led by different brokers, as a fault drill has them).
struct ClusterShape {
  std::vector<std::string> flags;
  std::string logged;  // the start-up line that proves the shape was used
};

class ClusterShapeOrderFlowTest : public PipelineTest,
                                  public ::testing::WithParamInterface<ClusterShape> {
 protected:
  std::vector<std::string> ServerFlags() const override { return GetParam().flags; }
};

TEST_P(ClusterShapeOrderFlowTest, OrdersConfirmThenCancelWhenStockRunsOut) {
  client_->AdjustStock("sku-shape", 10);
  std::vector<std::string> order_ids;
  for (int i = 0; i < 3; ++i) {
    auto placed = client_->PlaceOrder(absl::StrCat("shape-", i), absl::StrCat("user-", i),
                                      {{"sku-shape", 4}});
    ASSERT_TRUE(placed.ok()) << placed.status();
    order_ids.push_back(placed->order_id());
  }
  std::vector<v1::OrderStatus> statuses;
  for (const std::string& id : order_ids) {
    auto order = client_->SettledOrder(id);
    ASSERT_TRUE(order.ok()) << order.status() << "\n" << server_->LogTail();
    statuses.push_back(order->status());
  }
  // One SKU is one partition: the stock projection sees the decreases in
  // log order, so the third order is the one that finds 2 left.
  EXPECT_EQ(statuses,
            (std::vector<v1::OrderStatus>{v1::ORDER_STATUS_CONFIRMED, v1::ORDER_STATUS_CONFIRMED,
                                          v1::ORDER_STATUS_CANCELLED}));
  EXPECT_TRUE(client_->StockBecomes("sku-shape", 2)) << client_->GetStock("sku-shape").status();
  EXPECT_THAT(server_->LogTail(100000), ::testing::HasSubstr(GetParam().logged));
}

INSTANTIATE_TEST_SUITE_P(Shapes, ClusterShapeOrderFlowTest,
                         ::testing::Values(ClusterShape{{"--kafka_partitions=6"},
                                                        "(1 brokers, 6 partitions per topic)"},
                                           ClusterShape{{"--embedded_brokers=3"},
                                                        "(3 brokers, 1 partitions per topic)"}),
                         [](const ::testing::TestParamInfo<ClusterShape>& info) {
                           return info.index == 0 ? std::string("SixPartitions")
                                                  : std::string("ThreeBrokers");
                         });

}  // namespace
}  // namespace surge::testing
