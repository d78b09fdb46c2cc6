#include "projections/stock_projection.h"

#include <cstdint>

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "projections/read_models.h"
#include "projections/saga_state.pb.h"
#include "surge/v1/surge.pb.h"

namespace surge::projections {
namespace {

using internal::StockLineRecord;

std::string StockStream(absl::string_view sku) { return absl::StrCat("stock-", sku); }

absl::StatusOr<v1::Stock> LoadStock(ProjectionState& state, const std::string& sku) {
  SURGE_ASSIGN_OR_RETURN(std::optional<v1::Stock> row, GetRow<v1::Stock>(state, kStockCf, sku));
  if (row.has_value()) return *row;
  v1::Stock fresh;
  fresh.set_sku(sku);
  return fresh;
}

absl::StatusOr<std::vector<v1::Event>> Adjust(ProjectionState& state, const v1::Event& event) {
  const v1::StockAdjusted& adjusted = event.stock_adjusted();
  if (adjusted.sku().empty()) return absl::InvalidArgumentError("StockAdjusted without sku");
  SURGE_ASSIGN_OR_RETURN(v1::Stock stock, LoadStock(state, adjusted.sku()));
  std::vector<v1::Event> out;
  // Written so that no forged delta (e.g. INT64_MIN) can overflow: the
  // command side bounds |delta| to 1,000,000, but the log is input too.
  const int64_t delta = adjusted.delta();
  const bool below_zero = delta < -stock.available();
  const bool overflows = delta > 0 && stock.available() > INT64_MAX - delta;
  if (below_zero || overflows) {
    v1::Event& rejected = out.emplace_back(EmittedBy(event, StockStream(adjusted.sku())));
    v1::StockAdjustmentRejected* r = rejected.mutable_stock_adjustment_rejected();
    r->set_sku(adjusted.sku());
    r->set_delta(delta);
    r->set_available(stock.available());
    r->set_reason(below_zero ? absl::StrCat("write-off of ", 0 - static_cast<uint64_t>(delta),
                                            " exceeds available stock ", stock.available())
                             : absl::StrCat("restock of ", delta, " would overflow the stock"));
    return out;
  }
  stock.set_available(stock.available() + adjusted.delta());
  stock.set_updated_position(event.position());
  PutRow(state, kStockCf, adjusted.sku(), stock);
  return out;
}

absl::StatusOr<std::vector<v1::Event>> Decrease(ProjectionState& state, const v1::Event& event) {
  const v1::StockDecreaseRequested& request = event.stock_decrease_requested();
  if (request.sku().empty() || request.order_id().empty() || request.quantity() <= 0) {
    return absl::InvalidArgumentError(
        "StockDecreaseRequested needs order_id, sku and a positive quantity");
  }
  const std::string line_key = StockLineKey(request.order_id(), request.line_index());
  SURGE_ASSIGN_OR_RETURN(std::optional<StockLineRecord> decided,
                         GetRow<StockLineRecord>(state, kOrderSagaCf, line_key));
  if (decided.has_value()) return std::vector<v1::Event>();  // decided once already

  SURGE_ASSIGN_OR_RETURN(v1::Stock stock, LoadStock(state, request.sku()));
  std::vector<v1::Event> out;
  v1::Event& answer = out.emplace_back(EmittedBy(event, StockStream(request.sku())));
  StockLineRecord record;
  record.set_sku(request.sku());
  if (request.quantity() <= stock.available()) {
    stock.set_available(stock.available() - request.quantity());
    stock.set_reserved_total(stock.reserved_total() + request.quantity());
    stock.set_updated_position(event.position());
    PutRow(state, kStockCf, request.sku(), stock);
    record.set_quantity(request.quantity());
    record.set_outcome(internal::STOCK_LINE_OUTCOME_DECREASED);
    v1::StockDecreased* d = answer.mutable_stock_decreased();
    d->set_order_id(request.order_id());
    d->set_sku(request.sku());
    d->set_quantity(request.quantity());
    d->set_line_index(request.line_index());
    d->set_available_after(stock.available());
  } else {
    record.set_outcome(internal::STOCK_LINE_OUTCOME_FAILED);
    v1::StockDecreaseFailed* f = answer.mutable_stock_decrease_failed();
    f->set_order_id(request.order_id());
    f->set_sku(request.sku());
    f->set_quantity(request.quantity());
    f->set_line_index(request.line_index());
    f->set_available(stock.available());
    f->set_reason(absl::StrCat("insufficient stock for ", request.sku(), ": requested ",
                               request.quantity(), ", available ", stock.available()));
  }
  PutRow(state, kOrderSagaCf, line_key, record);
  return out;
}

absl::StatusOr<std::vector<v1::Event>> Release(ProjectionState& state, const v1::Event& event) {
  const v1::StockReleaseRequested& request = event.stock_release_requested();
  if (request.order_id().empty()) {
    return absl::InvalidArgumentError("StockReleaseRequested without order_id");
  }
  const std::string line_key = StockLineKey(request.order_id(), request.line_index());
  SURGE_ASSIGN_OR_RETURN(std::optional<StockLineRecord> decided,
                         GetRow<StockLineRecord>(state, kOrderSagaCf, line_key));
  // Only a decreased line gives stock back, and only once.
  if (!decided.has_value() || decided->outcome() != internal::STOCK_LINE_OUTCOME_DECREASED) {
    return std::vector<v1::Event>();
  }
  // A release for another SKU of the same line (a conflicting order body,
  // see the order saga) is not this record's to give back.
  if (!request.sku().empty() && request.sku() != decided->sku()) return std::vector<v1::Event>();
  // The recorded line is authoritative: give back exactly what was taken.
  SURGE_ASSIGN_OR_RETURN(v1::Stock stock, LoadStock(state, decided->sku()));
  stock.set_available(stock.available() + decided->quantity());
  stock.set_reserved_total(stock.reserved_total() - decided->quantity());
  stock.set_updated_position(event.position());
  PutRow(state, kStockCf, decided->sku(), stock);
  decided->set_outcome(internal::STOCK_LINE_OUTCOME_RELEASED);
  PutRow(state, kOrderSagaCf, line_key, *decided);

  std::vector<v1::Event> out;
  v1::Event& released = out.emplace_back(EmittedBy(event, StockStream(decided->sku())));
  v1::StockReleased* r = released.mutable_stock_released();
  r->set_order_id(request.order_id());
  r->set_sku(decided->sku());
  r->set_quantity(decided->quantity());
  r->set_line_index(request.line_index());
  r->set_available_after(stock.available());
  return out;
}

}  // namespace

std::string StockLineKey(absl::string_view order_id, int32_t line_index) {
  return absl::StrCat("stock-line/", order_id, "/", line_index);
}

absl::StatusOr<std::vector<v1::Event>> StockProjection::Handle(ProjectionState& state,
                                                               const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kStockAdjusted:
      return Adjust(state, event);
    case v1::Event::kStockDecreaseRequested:
      return Decrease(state, event);
    case v1::Event::kStockReleaseRequested:
      return Release(state, event);
    default:
      return std::vector<v1::Event>();
  }
}

}  // namespace surge::projections
