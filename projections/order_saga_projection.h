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
// line is compensated at most once. Stateless object: thread-safe.
#ifndef SURGE_PROJECTIONS_ORDER_SAGA_PROJECTION_H_
#define SURGE_PROJECTIONS_ORDER_SAGA_PROJECTION_H_

#include <string>
#include <vector>

#include "projections/projection.h"

namespace surge::projections {

class OrderSagaProjection : public Projection {
 public:
  std::string name() const override { return "order-saga"; }
  absl::StatusOr<std::vector<v1::Event>> Handle(ProjectionState& state,
                                                const v1::Event& event) override;
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_ORDER_SAGA_PROJECTION_H_
