// The order saga (topic surge.orders, key = order id): keeps v1::Order rows
// and drives each order to CONFIRMED or CANCELLED.
//
// - OrderPlaced: order PENDING, every line pending.
// - StockDecreased: the line is taken; all lines taken -> OrderConfirmed.
//   After a cancellation the line is given back (StockReleaseRequested).
// - StockDecreaseFailed: OrderCancelled{reason} plus StockReleaseRequested
//   for every line already taken (the compensation).
// - OrderCancellationRequested: a PENDING or CONFIRMED order is cancelled and
//   compensated the same way; a CANCELLED one is left alone.
//
// The saga state (OrderSagaState, rm_order_saga) tracks every line so each
// line is compensated at most once.
//
// It also keeps the number of orders in each status (rows in rm_orders under
// OrderStatusCountKey, 8-byte big-endian counts), updated on every status
// change in the same batch as the order rows, so the counts are exactly the
// read model's and cost one point read to serve (the surge_orders metric).
//
// Stateless object: thread-safe.
#ifndef SURGE_PROJECTIONS_ORDER_SAGA_PROJECTION_H_
#define SURGE_PROJECTIONS_ORDER_SAGA_PROJECTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "projections/projection.h"
#include "projections/projection_state.h"
#include "surge/v1/surge.pb.h"

namespace surge::projections {

class OrderSagaProjection : public Projection {
 public:
  std::string name() const override { return "order-saga"; }
  absl::StatusOr<std::vector<v1::Event>> Handle(ProjectionState& state,
                                                const v1::Event& event) override;
};

// rm_orders key of the number of orders in `status`. Starts with '#', which
// no order id can (ids are [A-Za-z0-9._:-]), so it never meets an order row.
std::string OrderStatusCountKey(v1::OrderStatus status);

// The number of orders in `status` in the read model (0 before the first).
// DATA_LOSS for an unreadable count; store errors as is.
absl::StatusOr<uint64_t> ReadOrderStatusCount(StateReader& reader, v1::OrderStatus status);

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_ORDER_SAGA_PROJECTION_H_
