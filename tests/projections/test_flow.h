// Test harness for the pure handlers: a tiny in-memory "log" that assigns
// positions and event ids, and feeds every event to every projection in log
// order (each ignores the types it does not own), committing each handler's
// writes like the runner does.
#ifndef SURGE_TESTS_PROJECTIONS_TEST_FLOW_H_
#define SURGE_TESTS_PROJECTIONS_TEST_FLOW_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "projections/coupon_projection.h"
#include "projections/order_saga_projection.h"
#include "projections/projection_state.h"
#include "projections/read_models.h"
#include "projections/stock_projection.h"
#include "surge/v1/surge.pb.h"

namespace surge::projections::testing {

class Flow {
 public:
  // Appends an event (as a command handler would) without processing it.
  const v1::Event& Append(v1::Event event) {
    event.set_position(next_position_++);
    event.set_event_id(absl::StrCat("node-1:", event.position()));
    if (event.correlation_id().empty()) event.set_correlation_id(event.stream_id());
    log_.push_back(event);
    pending_.push_back(event);
    return log_.back();
  }

  // Runs one event through `projection` now, outside log order, and appends
  // what it emits. Returns the emitted events.
  std::vector<v1::Event> Deliver(Projection& projection, const v1::Event& event) {
    OverlayState state(&store_);
    absl::StatusOr<std::vector<v1::Event>> emitted = projection.Handle(state, event);
    EXPECT_TRUE(emitted.ok()) << emitted.status();
    if (!emitted.ok()) return {};
    store_.Apply(state.TakeWrites());
    for (const v1::Event& e : *emitted) Append(e);
    return *emitted;
  }

  // Processes pending events in log order until none is left.
  void Run() { RunThrough({&stock_, &saga_, &coupons_}); }
  // Same, through some projections only.
  void RunThrough(const std::vector<Projection*>& projections) {
    while (!pending_.empty()) {
      v1::Event event = pending_.front();
      pending_.pop_front();
      for (Projection* p : projections) Deliver(*p, event);
    }
  }

  // Drops pending events (to deliver them by hand in another order).
  std::vector<v1::Event> TakePending() {
    std::vector<v1::Event> out(pending_.begin(), pending_.end());
    pending_.clear();
    return out;
  }

  template <typename Message>
  std::optional<Message> Row(const std::string& cf, const std::string& key) {
    absl::StatusOr<std::optional<std::string>> bytes = store_.Get(cf, key);
    if (!bytes.ok() || !bytes->has_value()) return std::nullopt;
    Message m;
    if (!m.ParseFromString(**bytes)) return std::nullopt;
    return m;
  }

  // Events of the log with this payload type.
  std::vector<v1::Event> OfType(v1::Event::PayloadCase type) const {
    std::vector<v1::Event> out;
    for (const v1::Event& e : log_) {
      if (e.payload_case() == type) out.push_back(e);
    }
    return out;
  }

  InMemoryStateStore& store() { return store_; }
  StockProjection& stock() { return stock_; }
  OrderSagaProjection& saga() { return saga_; }
  CouponProjection& coupons() { return coupons_; }

 private:
  InMemoryStateStore store_;
  StockProjection stock_;
  OrderSagaProjection saga_;
  CouponProjection coupons_;
  uint64_t next_position_ = 1;
  std::vector<v1::Event> log_;
  std::deque<v1::Event> pending_;
};

// Command-side events, as the domain handlers append them.
inline v1::Event Restock(const std::string& sku, int64_t delta) {
  v1::Event e;
  e.set_stream_id(absl::StrCat("stock-", sku));
  e.mutable_stock_adjusted()->set_sku(sku);
  e.mutable_stock_adjusted()->set_delta(delta);
  return e;
}

// OrderPlaced plus one StockDecreaseRequested per line.
inline std::vector<v1::Event> PlaceOrder(
    const std::string& order_id, const std::vector<std::pair<std::string, int64_t>>& lines) {
  std::vector<v1::Event> out;
  v1::Event placed;
  placed.set_stream_id(absl::StrCat("order-", order_id));
  placed.set_correlation_id(order_id);
  placed.mutable_order_placed()->set_order_id(order_id);
  placed.mutable_order_placed()->set_user_id("user-1");
  for (const auto& [sku, q] : lines) {
    v1::OrderLine* l = placed.mutable_order_placed()->add_lines();
    l->set_sku(sku);
    l->set_quantity(q);
  }
  out.push_back(placed);
  for (size_t i = 0; i < lines.size(); ++i) {
    v1::Event req;
    req.set_stream_id(absl::StrCat("order-", order_id));
    req.set_correlation_id(order_id);
    v1::StockDecreaseRequested* r = req.mutable_stock_decrease_requested();
    r->set_order_id(order_id);
    r->set_sku(lines[i].first);
    r->set_quantity(lines[i].second);
    r->set_line_index(static_cast<int32_t>(i));
    out.push_back(req);
  }
  return out;
}

inline v1::Event CancelRequest(const std::string& order_id) {
  v1::Event e;
  e.set_stream_id(absl::StrCat("order-", order_id));
  e.mutable_order_cancellation_requested()->set_order_id(order_id);
  return e;
}

}  // namespace surge::projections::testing

#endif  // SURGE_TESTS_PROJECTIONS_TEST_FLOW_H_
