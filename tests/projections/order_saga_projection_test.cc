#include "projections/order_saga_projection.h"

#include "gtest/gtest.h"
#include "tests/projections/test_flow.h"

namespace surge::projections {
namespace {

using testing::CancelRequest;
using testing::Flow;
using testing::PlaceOrder;
using testing::Restock;

v1::Order OrderOf(Flow& flow, const std::string& id) {
  return flow.Row<v1::Order>(kOrdersCf, id).value_or(v1::Order());
}
v1::Stock StockOf(Flow& flow, const std::string& sku) {
  return flow.Row<v1::Stock>(kStockCf, sku).value_or(v1::Stock());
}
void AppendAll(Flow& flow, const std::vector<v1::Event>& events) {
  for (const v1::Event& e : events) flow.Append(e);
}

TEST(OrderSagaProjectionTest, ReferenceScenarioConfirmsTwoCancelsOne) {
  Flow flow;
  flow.Append(Restock("sku-1", 10));
  AppendAll(flow, PlaceOrder("o1", {{"sku-1", 5}}));
  AppendAll(flow, PlaceOrder("o2", {{"sku-1", 5}}));
  AppendAll(flow, PlaceOrder("o3", {{"sku-1", 5}}));
  flow.Run();
  EXPECT_EQ(OrderOf(flow, "o1").status(), v1::ORDER_STATUS_CONFIRMED);
  EXPECT_EQ(OrderOf(flow, "o2").status(), v1::ORDER_STATUS_CONFIRMED);
  v1::Order o3 = OrderOf(flow, "o3");
  EXPECT_EQ(o3.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(o3.reason(), "insufficient stock for sku-1: requested 5, available 0");
  EXPECT_EQ(StockOf(flow, "sku-1").available(), 0);
  EXPECT_EQ(StockOf(flow, "sku-1").reserved_total(), 10);
  EXPECT_EQ(flow.OfType(v1::Event::kOrderConfirmed).size(), 2u);
  auto cancelled = flow.OfType(v1::Event::kOrderCancelled);
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].stream_id(), "order-o3");
  EXPECT_EQ(cancelled[0].correlation_id(), "o3");
  EXPECT_TRUE(flow.OfType(v1::Event::kStockReleaseRequested).empty());
}

TEST(OrderSagaProjectionTest, FailedLineCompensatesEveryTakenLine) {
  Flow flow;
  flow.Append(Restock("apple", 10));
  flow.Append(Restock("pear", 10));
  flow.Append(Restock("plum", 1));
  AppendAll(flow, PlaceOrder("o1", {{"apple", 3}, {"pear", 4}, {"plum", 2}}));
  flow.Run();
  v1::Order order = OrderOf(flow, "o1");
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(order.reason(), "insufficient stock for plum: requested 2, available 1");
  auto releases = flow.OfType(v1::Event::kStockReleaseRequested);
  ASSERT_EQ(releases.size(), 2u);
  EXPECT_EQ(releases[0].stock_release_requested().sku(), "apple");
  EXPECT_EQ(releases[1].stock_release_requested().sku(), "pear");
  EXPECT_EQ(flow.OfType(v1::Event::kStockReleased).size(), 2u);
  for (const char* sku : {"apple", "pear"}) {
    EXPECT_EQ(StockOf(flow, sku).available(), 10) << sku;
    EXPECT_EQ(StockOf(flow, sku).reserved_total(), 0) << sku;
  }
  EXPECT_EQ(StockOf(flow, "plum").available(), 1);
}

TEST(OrderSagaProjectionTest, DecreaseArrivingAfterCancellationIsReleased) {
  Flow flow;
  flow.Append(Restock("apple", 10));
  AppendAll(flow, PlaceOrder("o1", {{"apple", 3}, {"pear", 1}}));
  std::vector<v1::Event> pending = flow.TakePending();
  ASSERT_EQ(pending.size(), 4u);  // restock, placed, line 0, line 1
  flow.Deliver(flow.stock(), pending[0]);
  flow.Deliver(flow.saga(), pending[1]);
  // The stock topic answers line 1 (no pears) before line 0.
  flow.Deliver(flow.stock(), pending[3]);
  flow.Deliver(flow.stock(), pending[2]);
  flow.Run();  // the saga sees the failure, then the late StockDecreased
  EXPECT_EQ(OrderOf(flow, "o1").status(), v1::ORDER_STATUS_CANCELLED);
  auto releases = flow.OfType(v1::Event::kStockReleaseRequested);
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].stock_release_requested().line_index(), 0);
  EXPECT_EQ(StockOf(flow, "apple").available(), 10);
  EXPECT_EQ(StockOf(flow, "apple").reserved_total(), 0);
}

TEST(OrderSagaProjectionTest, UserCancelOfConfirmedOrderReleasesStock) {
  Flow flow;
  flow.Append(Restock("apple", 10));
  AppendAll(flow, PlaceOrder("o1", {{"apple", 6}}));
  flow.Run();
  ASSERT_EQ(OrderOf(flow, "o1").status(), v1::ORDER_STATUS_CONFIRMED);
  ASSERT_EQ(StockOf(flow, "apple").available(), 4);
  flow.Append(CancelRequest("o1"));
  flow.Run();
  v1::Order order = OrderOf(flow, "o1");
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(order.reason(), "cancelled by user");
  EXPECT_EQ(StockOf(flow, "apple").available(), 10);
  EXPECT_EQ(flow.OfType(v1::Event::kStockReleased).size(), 1u);
  // Cancelling again changes nothing.
  flow.Append(CancelRequest("o1"));
  flow.Run();
  EXPECT_EQ(flow.OfType(v1::Event::kOrderCancelled).size(), 1u);
  EXPECT_EQ(flow.OfType(v1::Event::kStockReleaseRequested).size(), 1u);
}

TEST(OrderSagaProjectionTest, UserCancelOfPendingOrderReleasesLaterDecreases) {
  Flow flow;
  flow.Append(Restock("apple", 10));
  AppendAll(flow, PlaceOrder("o1", {{"apple", 2}, {"apple", 3}}));
  flow.Append(CancelRequest("o1"));
  std::vector<v1::Event> pending = flow.TakePending();
  ASSERT_EQ(pending.size(), 5u);
  flow.Deliver(flow.stock(), pending[0]);
  flow.Deliver(flow.saga(), pending[1]);  // placed
  flow.Deliver(flow.saga(), pending[4]);  // cancel while both lines pending
  flow.Deliver(flow.stock(), pending[2]);
  flow.Deliver(flow.stock(), pending[3]);
  flow.Run();
  EXPECT_EQ(OrderOf(flow, "o1").status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_TRUE(flow.OfType(v1::Event::kOrderConfirmed).empty());
  EXPECT_EQ(flow.OfType(v1::Event::kStockReleased).size(), 2u);
  EXPECT_EQ(StockOf(flow, "apple").available(), 10);
  EXPECT_EQ(StockOf(flow, "apple").reserved_total(), 0);
}

TEST(OrderSagaProjectionTest, RedeliveredEventsAreNoOps) {
  Flow flow;
  flow.Append(Restock("apple", 10));
  AppendAll(flow, PlaceOrder("o1", {{"apple", 2}, {"pear", 1}}));
  std::vector<v1::Event> pending = flow.TakePending();
  flow.Deliver(flow.stock(), pending[0]);
  flow.Deliver(flow.saga(), pending[1]);
  flow.Deliver(flow.saga(), pending[1]);  // OrderPlaced twice
  std::vector<v1::Event> decreased = flow.Deliver(flow.stock(), pending[2]);
  std::vector<v1::Event> failed = flow.Deliver(flow.stock(), pending[3]);
  flow.TakePending();
  ASSERT_EQ(decreased.size(), 1u);
  ASSERT_EQ(failed.size(), 1u);
  for (int i = 0; i < 2; ++i) {
    flow.Deliver(flow.saga(), decreased[0]);
    flow.Deliver(flow.saga(), failed[0]);
  }
  auto releases = flow.OfType(v1::Event::kStockReleaseRequested);
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(flow.OfType(v1::Event::kOrderCancelled).size(), 1u);
  for (int i = 0; i < 2; ++i) flow.Deliver(flow.stock(), releases[0]);
  EXPECT_EQ(flow.OfType(v1::Event::kStockReleased).size(), 1u);
  EXPECT_EQ(StockOf(flow, "apple").available(), 10);
}

TEST(OrderSagaProjectionTest, AnswerForUnknownOrderIsParkedNotRefused) {
  // Nothing orders an answer after its OrderPlaced across nodes (see
  // AnswersThatArriveBeforeTheOrderAreAppliedWhenItArrives): parked.
  Flow flow;
  OrderSagaProjection saga;
  OverlayState state(&flow.store());
  v1::Event e;
  e.mutable_stock_decreased()->set_order_id("nope");
  absl::StatusOr<std::vector<v1::Event>> out = saga.Handle(state, e);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->empty());
  EXPECT_TRUE(state.Get(kOrderSagaCf, "early/nope")->has_value());
  EXPECT_FALSE(state.Get(kOrdersCf, "nope")->has_value());
}

TEST(OrderSagaProjectionTest, StockTakenForAnotherBodyOfTheSameOrderIsGivenBack) {
  // Cluster mode: the same request_id (hence the same order id) sent with
  // different lines to two nodes. The saga keeps the first body it sees.
  Flow flow;
  flow.Append(Restock("apple", 10));
  flow.Append(Restock("pear", 10));
  AppendAll(flow, PlaceOrder("o1", {{"apple", 3}}));
  AppendAll(flow, PlaceOrder("o1", {{"pear", 4}}));
  flow.Run();
  EXPECT_EQ(OrderOf(flow, "o1").status(), v1::ORDER_STATUS_CONFIRMED);
  ASSERT_EQ(OrderOf(flow, "o1").lines_size(), 1);
  EXPECT_EQ(OrderOf(flow, "o1").lines(0).sku(), "apple");
  EXPECT_EQ(StockOf(flow, "apple").available(), 7);
  EXPECT_EQ(StockOf(flow, "pear").available(), 10);
  // In a cluster, pear's partition decides its line on its own state: the
  // saga then sees stock taken for the other body and gives it back.
  v1::Event other;
  other.set_stream_id("stock-pear");
  other.set_correlation_id("o1");
  v1::StockDecreased* d = other.mutable_stock_decreased();
  d->set_order_id("o1");
  d->set_sku("pear");
  d->set_quantity(4);
  d->set_line_index(0);
  flow.Append(other);
  flow.Run();
  auto releases = flow.OfType(v1::Event::kStockReleaseRequested);
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].stock_release_requested().sku(), "pear");
  EXPECT_EQ(releases[0].stock_release_requested().reason(), "conflicting order body");
  // One shared state here: apple's line record must not be released for it.
  EXPECT_EQ(StockOf(flow, "apple").available(), 7);
  EXPECT_EQ(OrderOf(flow, "o1").status(), v1::ORDER_STATUS_CONFIRMED);
}

TEST(OrderSagaProjectionTest, AnswersThatArriveBeforeTheOrderAreAppliedWhenItArrives) {
  // Cluster mode: OrderPlaced comes from the accepting node's log, the
  // stock answers from the stock owner's log, through other partitions:
  // an answer may reach the saga first. It is parked, not dead-lettered.
  OrderSagaProjection saga;
  InMemoryStateStore committed;
  auto run = [&](const v1::Event& e) {
    OverlayState state(&committed);
    absl::StatusOr<std::vector<v1::Event>> out = saga.Handle(state, e);
    EXPECT_TRUE(out.ok()) << out.status();
    committed.Apply(state.TakeWrites());
    return out.ok() ? *out : std::vector<v1::Event>();
  };
  std::vector<v1::Event> placed = PlaceOrder("o1", {{"apple", 3}, {"pear", 2}});
  v1::Event taken;
  taken.set_event_id("s:1");
  v1::StockDecreased* d = taken.mutable_stock_decreased();
  d->set_order_id("o1");
  d->set_sku("pear");
  d->set_quantity(2);
  d->set_line_index(1);
  EXPECT_TRUE(run(taken).empty());
  v1::Event refused;
  refused.set_event_id("s:2");
  v1::StockDecreaseFailed* f = refused.mutable_stock_decrease_failed();
  f->set_order_id("o1");
  f->set_sku("apple");
  f->set_quantity(3);
  f->set_line_index(0);
  f->set_reason("insufficient stock for apple");
  EXPECT_TRUE(run(refused).empty());
  EXPECT_FALSE(committed.Get(kOrdersCf, "o1")->has_value());

  // The order arrives: both answers apply, the order is cancelled and the
  // pear taken for it is given back.
  std::vector<v1::Event> out = run(placed[0]);
  v1::Order order;
  ASSERT_TRUE(order.ParseFromString(**committed.Get(kOrdersCf, "o1")));
  EXPECT_EQ(order.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(order.reason(), "insufficient stock for apple");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].has_order_cancelled());
  ASSERT_TRUE(out[1].has_stock_release_requested());
  EXPECT_EQ(out[1].stock_release_requested().sku(), "pear");
  EXPECT_EQ(out[1].causation_id(), "s:2");
  EXPECT_FALSE(committed.Get(kOrderSagaCf, "early/o1")->has_value());
}

}  // namespace
}  // namespace surge::projections
