// The order saga's per-status counts (the surge_orders gauge) follow every
// status change, in the same writes as the order rows.
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "projections/order_saga_projection.h"
#include "projections/projection_state.h"
#include "projections/read_models.h"

namespace surge::projections {
namespace {

class OrderStatusCountsTest : public ::testing::Test {
 protected:
  // Runs one event through the saga and commits its writes.
  std::vector<v1::Event> Apply(const v1::Event& event) {
    OverlayState state(&committed_);
    absl::StatusOr<std::vector<v1::Event>> out = saga_.Handle(state, event);
    EXPECT_TRUE(out.ok()) << out.status();
    committed_.Apply(state.TakeWrites());
    return out.ok() ? *out : std::vector<v1::Event>();
  }

  v1::Event Placed(const std::string& id, int lines) {
    v1::Event e = Next();
    e.mutable_order_placed()->set_order_id(id);
    e.mutable_order_placed()->set_user_id("u");
    for (int i = 0; i < lines; ++i) {
      v1::OrderLine* line = e.mutable_order_placed()->add_lines();
      line->set_sku("sku");
      line->set_quantity(1);
    }
    return e;
  }
  v1::Event Decreased(const std::string& id, int line) {
    v1::Event e = Next();
    e.mutable_stock_decreased()->set_order_id(id);
    e.mutable_stock_decreased()->set_sku("sku");
    e.mutable_stock_decreased()->set_quantity(1);
    e.mutable_stock_decreased()->set_line_index(line);
    return e;
  }
  v1::Event Failed(const std::string& id, int line) {
    v1::Event e = Next();
    e.mutable_stock_decrease_failed()->set_order_id(id);
    e.mutable_stock_decrease_failed()->set_line_index(line);
    e.mutable_stock_decrease_failed()->set_reason("out of stock");
    return e;
  }
  v1::Event CancelRequested(const std::string& id) {
    v1::Event e = Next();
    e.mutable_order_cancellation_requested()->set_order_id(id);
    return e;
  }

  // {PENDING, CONFIRMED, CANCELLED}
  std::vector<uint64_t> StatusCounts() {
    std::vector<uint64_t> out;
    for (v1::OrderStatus s :
         {v1::ORDER_STATUS_PENDING, v1::ORDER_STATUS_CONFIRMED, v1::ORDER_STATUS_CANCELLED}) {
      absl::StatusOr<uint64_t> count = ReadOrderStatusCount(committed_, s);
      EXPECT_TRUE(count.ok()) << count.status();
      out.push_back(count.value_or(UINT64_MAX));
    }
    return out;
  }

 private:
  v1::Event Next() {
    v1::Event e;
    e.set_position(++position_);
    e.set_event_id(std::to_string(position_));
    return e;
  }

  OrderSagaProjection saga_;
  InMemoryStateStore committed_;
  uint64_t position_ = 0;
};

using Counts = std::vector<uint64_t>;

TEST_F(OrderStatusCountsTest, StartAtZero) { EXPECT_EQ(StatusCounts(), (Counts{0, 0, 0})); }

TEST_F(OrderStatusCountsTest, FollowEveryTransition) {
  Apply(Placed("o1", 2));
  Apply(Placed("o2", 1));
  Apply(Placed("o3", 1));
  EXPECT_EQ(StatusCounts(), (Counts{3, 0, 0}));
  Apply(Decreased("o1", 0));  // one line of two: still pending
  EXPECT_EQ(StatusCounts(), (Counts{3, 0, 0}));
  Apply(Decreased("o1", 1));
  EXPECT_EQ(StatusCounts(), (Counts{2, 1, 0}));
  Apply(Failed("o2", 0));
  EXPECT_EQ(StatusCounts(), (Counts{1, 1, 1}));
  Apply(CancelRequested("o1"));  // a confirmed order cancelled by its user
  EXPECT_EQ(StatusCounts(), (Counts{1, 0, 2}));
  Apply(CancelRequested("o3"));  // a pending one
  EXPECT_EQ(StatusCounts(), (Counts{0, 0, 3}));
}

TEST_F(OrderStatusCountsTest, RepeatsAndLateAnswersDoNotCountTwice) {
  v1::Event placed = Placed("o1", 1);
  Apply(placed);
  Apply(placed);  // redelivered OrderPlaced
  EXPECT_EQ(StatusCounts(), (Counts{1, 0, 0}));
  Apply(CancelRequested("o1"));
  Apply(CancelRequested("o1"));  // already cancelled
  EXPECT_EQ(StatusCounts(), (Counts{0, 0, 1}));
  Apply(Decreased("o1", 0));  // too late: released, status stays CANCELLED
  EXPECT_EQ(StatusCounts(), (Counts{0, 0, 1}));
}

TEST_F(OrderStatusCountsTest, CountKeysCanNeverBeOrderIds) {
  for (v1::OrderStatus s :
       {v1::ORDER_STATUS_PENDING, v1::ORDER_STATUS_CONFIRMED, v1::ORDER_STATUS_CANCELLED}) {
    const std::string key = OrderStatusCountKey(s);
    ASSERT_FALSE(key.empty());
    EXPECT_EQ(key.front(), '#') << key;
  }
}

TEST_F(OrderStatusCountsTest, CountsCommitWithTheOrderRowInOneBatch) {
  // Everything a batch writes lands in one overlay: the count and the row
  // are committed together or not at all.
  InMemoryStateStore store;
  OverlayState state(&store);
  OrderSagaProjection saga;
  v1::Event e;
  e.set_position(1);
  e.mutable_order_placed()->set_order_id("o1");
  e.mutable_order_placed()->add_lines()->set_sku("sku");
  ASSERT_TRUE(saga.Handle(state, e).ok());
  bool row = false, count = false;
  for (const eventstore::ExtraWrite& w : state.TakeWrites()) {
    row = row || (w.column_family == kOrdersCf && w.key == "o1");
    count = count || (w.column_family == kOrdersCf &&
                      w.key == OrderStatusCountKey(v1::ORDER_STATUS_PENDING));
  }
  EXPECT_TRUE(row);
  EXPECT_TRUE(count);
}

}  // namespace
}  // namespace surge::projections
