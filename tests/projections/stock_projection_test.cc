#include "projections/stock_projection.h"

#include "gtest/gtest.h"
#include "tests/projections/test_flow.h"

namespace surge::projections {
namespace {

using testing::Flow;
using testing::PlaceOrder;
using testing::Restock;

v1::Stock StockOf(Flow& flow, const std::string& sku) {
  std::optional<v1::Stock> row = flow.Row<v1::Stock>(kStockCf, sku);
  return row.value_or(v1::Stock());
}

v1::Event DecreaseRequest(const std::string& order, const std::string& sku, int64_t q, int line) {
  v1::Event e;
  e.set_stream_id("order-" + order);
  v1::StockDecreaseRequested* r = e.mutable_stock_decrease_requested();
  r->set_order_id(order);
  r->set_sku(sku);
  r->set_quantity(q);
  r->set_line_index(line);
  return e;
}

v1::Event ReleaseRequest(const std::string& order, const std::string& sku, int64_t q, int line) {
  v1::Event e;
  e.set_stream_id("order-" + order);
  v1::StockReleaseRequested* r = e.mutable_stock_release_requested();
  r->set_order_id(order);
  r->set_sku(sku);
  r->set_quantity(q);
  r->set_line_index(line);
  return e;
}

TEST(StockProjectionTest, AdjustAddsAndRejectsWriteOffBeyondAvailable) {
  Flow flow;
  flow.Append(Restock("apple", 7));
  flow.Append(Restock("apple", -3));
  flow.Append(Restock("apple", -5));
  flow.RunThrough({&flow.stock()});
  EXPECT_EQ(StockOf(flow, "apple").available(), 4);
  auto rejected = flow.OfType(v1::Event::kStockAdjustmentRejected);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].stream_id(), "stock-apple");
  EXPECT_EQ(rejected[0].stock_adjustment_rejected().available(), 4);
  EXPECT_EQ(rejected[0].stock_adjustment_rejected().delta(), -5);
  EXPECT_EQ(StockOf(flow, "apple").updated_position(), 2u);
}

TEST(StockProjectionTest, DecreaseTakesStockAndReservesIt) {
  Flow flow;
  flow.Append(Restock("apple", 10));
  const v1::Event& request = flow.Append(DecreaseRequest("o1", "apple", 4, 0));
  const std::string request_id = request.event_id();
  flow.RunThrough({&flow.stock()});
  v1::Stock stock = StockOf(flow, "apple");
  EXPECT_EQ(stock.available(), 6);
  EXPECT_EQ(stock.reserved_total(), 4);
  auto decreased = flow.OfType(v1::Event::kStockDecreased);
  ASSERT_EQ(decreased.size(), 1u);
  EXPECT_EQ(decreased[0].stream_id(), "stock-apple");
  EXPECT_EQ(decreased[0].causation_id(), request_id);
  EXPECT_EQ(decreased[0].correlation_id(), "order-o1");
  EXPECT_EQ(decreased[0].stock_decreased().available_after(), 6);
  EXPECT_EQ(decreased[0].stock_decreased().line_index(), 0);
}

TEST(StockProjectionTest, DecreaseFailsWithReasonWhenStockIsShort) {
  Flow flow;
  flow.Append(Restock("apple", 3));
  flow.Append(DecreaseRequest("o1", "apple", 5, 0));
  flow.RunThrough({&flow.stock()});
  auto failed = flow.OfType(v1::Event::kStockDecreaseFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].stock_decrease_failed().reason(),
            "insufficient stock for apple: requested 5, available 3");
  EXPECT_EQ(failed[0].stock_decrease_failed().available(), 3);
  EXPECT_TRUE(flow.OfType(v1::Event::kStockDecreased).empty());
  EXPECT_EQ(StockOf(flow, "apple").available(), 3);
  EXPECT_EQ(StockOf(flow, "apple").reserved_total(), 0);
}

TEST(StockProjectionTest, DuplicateDecreaseRequestIsDecidedOnce) {
  Flow flow;
  flow.Append(Restock("apple", 10));
  flow.Append(DecreaseRequest("o1", "apple", 4, 0));
  flow.Append(DecreaseRequest("o1", "apple", 4, 0));
  flow.RunThrough({&flow.stock()});
  EXPECT_EQ(StockOf(flow, "apple").available(), 6);
  EXPECT_EQ(flow.OfType(v1::Event::kStockDecreased).size(), 1u);
}

TEST(StockProjectionTest, ReleaseGivesBackOnceAndOnlyADecreasedLine) {
  Flow flow;
  flow.Append(Restock("apple", 10));
  flow.Append(DecreaseRequest("o1", "apple", 4, 0));
  flow.Append(DecreaseRequest("o2", "apple", 50, 0));  // fails
  flow.Append(ReleaseRequest("o1", "apple", 4, 0));
  flow.Append(ReleaseRequest("o1", "apple", 4, 0));   // duplicate
  flow.Append(ReleaseRequest("o2", "apple", 50, 0));  // never taken
  flow.Append(ReleaseRequest("o3", "apple", 9, 0));   // never requested
  flow.RunThrough({&flow.stock()});
  v1::Stock stock = StockOf(flow, "apple");
  EXPECT_EQ(stock.available(), 10);
  EXPECT_EQ(stock.reserved_total(), 0);
  auto released = flow.OfType(v1::Event::kStockReleased);
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].stock_released().order_id(), "o1");
  EXPECT_EQ(released[0].stock_released().available_after(), 10);
}

TEST(StockProjectionTest, IgnoresEventsItDoesNotOwn) {
  Flow flow;
  StockProjection stock;
  OverlayState state(&flow.store());
  for (const v1::Event& e : PlaceOrder("o1", {{"apple", 1}})) {
    if (e.has_stock_decrease_requested()) continue;
    auto emitted = stock.Handle(state, e);
    ASSERT_TRUE(emitted.ok());
    EXPECT_TRUE(emitted->empty());
  }
  v1::Event coupon;
  coupon.mutable_coupon_requested()->set_request_id("r");
  auto emitted = stock.Handle(state, coupon);
  ASSERT_TRUE(emitted.ok());
  EXPECT_TRUE(emitted->empty());
  EXPECT_TRUE(state.empty());
}

TEST(StockProjectionTest, MalformedRequestIsInvalidArgument) {
  Flow flow;
  StockProjection stock;
  OverlayState state(&flow.store());
  auto emitted = stock.Handle(state, DecreaseRequest("o1", "apple", 0, 0));
  EXPECT_EQ(emitted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(state.empty());
}

}  // namespace
}  // namespace surge::projections
