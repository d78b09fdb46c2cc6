// The stock projection (topic surge.stock, key = sku): keeps v1::Stock rows
// and decides every StockDecreaseRequested.
//
// - StockAdjusted: available += delta; a write-off beyond the available stock
//   is refused with StockAdjustmentRejected and changes nothing.
// - StockDecreaseRequested: enough stock -> take it, emit StockDecreased;
//   otherwise emit StockDecreaseFailed{"insufficient stock for <sku>: ..."}.
// - StockReleaseRequested: gives back a line that was decreased and not yet
//   released, emits StockReleased; anything else is a no-op.
//
// Each (order, line) outcome is remembered (StockLineRecord in rm_order_saga)
// so a line is decided once and released at most once. Stock never goes
// negative. Stateless object: thread-safe.
#ifndef SURGE_PROJECTIONS_STOCK_PROJECTION_H_
#define SURGE_PROJECTIONS_STOCK_PROJECTION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "projections/projection.h"

namespace surge::projections {

class StockProjection : public Projection {
 public:
  std::string name() const override { return "stock"; }
  absl::StatusOr<std::vector<v1::Event>> Handle(ProjectionState& state,
                                                const v1::Event& event) override;
};

// rm_order_saga key of the stock projection's record of one order line.
std::string StockLineKey(absl::string_view order_id, int32_t line_index);

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_STOCK_PROJECTION_H_
