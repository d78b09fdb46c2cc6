#include "projections/order_saga_projection.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "projections/internal/big_endian.h"
#include "projections/read_models.h"
#include "projections/saga_state.pb.h"
#include "surge/v1/surge.pb.h"

namespace surge::projections {
namespace {

using internal::OrderSagaState;

std::string OrderStream(absl::string_view order_id) { return absl::StrCat("order-", order_id); }

absl::StatusOr<uint64_t> DecodeCount(const std::optional<std::string>& bytes,
                                     v1::OrderStatus status) {
  if (!bytes.has_value()) return 0;
  std::optional<uint64_t> count = internal::DecodeU64(*bytes);
  if (!count.has_value()) {
    return absl::DataLossError(
        absl::StrCat("unreadable order count ", OrderStatusCountKey(status)));
  }
  return *count;
}

// Moves `order` to status `to` and the per-status counts with it (through
// `state`, so they commit with the order row).
absl::Status MoveStatus(ProjectionState& state, v1::Order& order, v1::OrderStatus to) {
  const v1::OrderStatus from = order.status();
  if (from == to) return absl::OkStatus();
  for (const auto& [status, delta] : {std::pair{from, -1}, std::pair{to, 1}}) {
    if (status == v1::ORDER_STATUS_UNSPECIFIED) continue;  // a new order
    const std::string key = OrderStatusCountKey(status);
    SURGE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get(kOrdersCf, key));
    SURGE_ASSIGN_OR_RETURN(uint64_t count, DecodeCount(bytes, status));
    // Never below zero: orders a data dir held before the counts existed
    // were never counted in.
    count = delta < 0 ? (count > 0 ? count - 1 : 0) : count + 1;
    state.Put(kOrdersCf, key, internal::EncodeU64(count));
  }
  order.set_status(to);
  return absl::OkStatus();
}

// An order's saga state and row, loaded together and saved together.
struct Saga {
  OrderSagaState state;
  v1::Order order;
};

absl::StatusOr<std::optional<Saga>> LoadSaga(ProjectionState& state, const std::string& order_id) {
  SURGE_ASSIGN_OR_RETURN(std::optional<OrderSagaState> saga,
                         GetRow<OrderSagaState>(state, kOrderSagaCf, order_id));
  if (!saga.has_value()) return std::optional<Saga>();
  SURGE_ASSIGN_OR_RETURN(std::optional<v1::Order> order,
                         GetRow<v1::Order>(state, kOrdersCf, order_id));
  if (!order.has_value()) {
    return absl::DataLossError(absl::StrCat("order ", order_id, " has a saga but no row"));
  }
  return std::optional<Saga>(Saga{std::move(*saga), std::move(*order)});
}

void SaveSaga(ProjectionState& state, Saga& saga, uint64_t position) {
  saga.order.set_updated_position(position);
  PutRow(state, kOrderSagaCf, saga.state.order_id(), saga.state);
  PutRow(state, kOrdersCf, saga.state.order_id(), saga.order);
}

// The line an answer from the stock projection refers to.
absl::StatusOr<internal::SagaLine*> FindLine(Saga& saga, int32_t line_index) {
  if (line_index < 0 || line_index >= saga.state.lines_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("order ", saga.state.order_id(), " has no line ", line_index));
  }
  return saga.state.mutable_lines(line_index);
}

void EmitRelease(const v1::Event& cause, const std::string& order_id, int32_t line_index,
                 internal::SagaLine& line, std::vector<v1::Event>& out) {
  v1::Event& release = out.emplace_back(EmittedBy(cause, OrderStream(order_id)));
  v1::StockReleaseRequested* r = release.mutable_stock_release_requested();
  r->set_order_id(order_id);
  r->set_sku(line.sku());
  r->set_quantity(line.quantity());
  r->set_line_index(line_index);
  r->set_reason("order cancelled");
  line.set_state(internal::LINE_STATE_RELEASE_REQUESTED);
}

// Cancels a live order: OrderCancelled plus the release of every taken line.
absl::Status Cancel(ProjectionState& state, const v1::Event& cause, Saga& saga,
                    const std::string& reason, std::vector<v1::Event>& out) {
  const std::string& order_id = saga.state.order_id();
  saga.state.set_status(internal::SAGA_STATUS_CANCELLED);
  SURGE_RETURN_IF_ERROR(MoveStatus(state, saga.order, v1::ORDER_STATUS_CANCELLED));
  saga.order.set_reason(reason);
  v1::Event& cancelled = out.emplace_back(EmittedBy(cause, OrderStream(order_id)));
  cancelled.mutable_order_cancelled()->set_order_id(order_id);
  cancelled.mutable_order_cancelled()->set_reason(reason);
  for (int i = 0; i < saga.state.lines_size(); ++i) {
    internal::SagaLine& line = *saga.state.mutable_lines(i);
    if (line.state() == internal::LINE_STATE_DECREASED) EmitRelease(cause, order_id, i, line, out);
  }
  return absl::OkStatus();
}

std::string EarlyKey(const std::string& order_id) { return absl::StrCat("early/", order_id); }

// Parks an answer whose order the saga has not seen yet (see EarlyAnswers).
absl::StatusOr<std::vector<v1::Event>> Park(ProjectionState& state, const std::string& order_id,
                                            const v1::Event& event) {
  SURGE_ASSIGN_OR_RETURN(std::optional<internal::EarlyAnswers> early,
                         GetRow<internal::EarlyAnswers>(state, kOrderSagaCf, EarlyKey(order_id)));
  internal::EarlyAnswers answers = early.value_or(internal::EarlyAnswers());
  // Bounded: an order has at most 100 lines, each answered once per body.
  if (answers.events_size() >= 1000) {
    return absl::FailedPreconditionError(
        absl::StrCat("unknown order ", order_id, " with too many early answers"));
  }
  answers.add_events(event.SerializeAsString());
  PutRow(state, kOrderSagaCf, EarlyKey(order_id), answers);
  return std::vector<v1::Event>();
}

absl::StatusOr<std::vector<v1::Event>> Decreased(ProjectionState& state, const v1::Event& event);
absl::StatusOr<std::vector<v1::Event>> DecreaseFailed(ProjectionState& state,
                                                      const v1::Event& event);

absl::StatusOr<std::vector<v1::Event>> Placed(ProjectionState& state, const v1::Event& event) {
  const v1::OrderPlaced& placed = event.order_placed();
  if (placed.order_id().empty()) return absl::InvalidArgumentError("OrderPlaced without order_id");
  SURGE_ASSIGN_OR_RETURN(std::optional<Saga> existing, LoadSaga(state, placed.order_id()));
  if (existing.has_value()) return std::vector<v1::Event>();

  Saga saga;
  saga.state.set_order_id(placed.order_id());
  saga.state.set_status(internal::SAGA_STATUS_PENDING);
  for (const v1::OrderLine& line : placed.lines()) {
    internal::SagaLine* l = saga.state.add_lines();
    l->set_sku(line.sku());
    l->set_quantity(line.quantity());
    l->set_state(internal::LINE_STATE_PENDING);
  }
  saga.order.set_order_id(placed.order_id());
  saga.order.set_user_id(placed.user_id());
  *saga.order.mutable_lines() = placed.lines();
  SURGE_RETURN_IF_ERROR(MoveStatus(state, saga.order, v1::ORDER_STATUS_PENDING));
  SaveSaga(state, saga, event.position());
  // Answers that came first: apply them now, in the order they came.
  std::vector<v1::Event> out;
  SURGE_ASSIGN_OR_RETURN(
      std::optional<internal::EarlyAnswers> early,
      GetRow<internal::EarlyAnswers>(state, kOrderSagaCf, EarlyKey(placed.order_id())));
  if (!early.has_value()) return out;
  state.Delete(kOrderSagaCf, EarlyKey(placed.order_id()));
  for (const std::string& bytes : early->events()) {
    v1::Event answer;
    if (!answer.ParseFromString(bytes)) {
      return absl::DataLossError(absl::StrCat("unreadable early answer of ", placed.order_id()));
    }
    absl::StatusOr<std::vector<v1::Event>> more =
        answer.has_stock_decreased() ? Decreased(state, answer) : DecreaseFailed(state, answer);
    if (!more.ok()) return more.status();
    for (v1::Event& e : *more) out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Event>> Decreased(ProjectionState& state, const v1::Event& event) {
  const v1::StockDecreased& decreased = event.stock_decreased();
  SURGE_ASSIGN_OR_RETURN(std::optional<Saga> found, LoadSaga(state, decreased.order_id()));
  if (!found.has_value()) return Park(state, decreased.order_id(), event);
  Saga& saga = *found;
  SURGE_ASSIGN_OR_RETURN(internal::SagaLine * line, FindLine(saga, decreased.line_index()));
  std::vector<v1::Event> out;
  if (line->sku() != decreased.sku() || line->quantity() != decreased.quantity()) {
    // Stock taken for another body of this order id: the same request_id
    // sent with different lines to two nodes (cluster mode). The first
    // OrderPlaced the saga saw is the order; give this stock back.
    v1::Event& release = out.emplace_back(EmittedBy(event, OrderStream(decreased.order_id())));
    v1::StockReleaseRequested* r = release.mutable_stock_release_requested();
    r->set_order_id(decreased.order_id());
    r->set_sku(decreased.sku());
    r->set_quantity(decreased.quantity());
    r->set_line_index(decreased.line_index());
    r->set_reason("conflicting order body");
    return out;
  }
  if (line->state() != internal::LINE_STATE_PENDING) return out;  // already answered
  line->set_state(internal::LINE_STATE_DECREASED);

  if (saga.state.status() == internal::SAGA_STATUS_CANCELLED) {
    // Too late: the order is gone, give the stock back.
    EmitRelease(event, saga.state.order_id(), decreased.line_index(), *line, out);
  } else if (saga.state.status() == internal::SAGA_STATUS_PENDING) {
    bool all_taken = true;
    for (const internal::SagaLine& l : saga.state.lines()) {
      all_taken = all_taken && l.state() == internal::LINE_STATE_DECREASED;
    }
    if (all_taken) {
      saga.state.set_status(internal::SAGA_STATUS_CONFIRMED);
      SURGE_RETURN_IF_ERROR(MoveStatus(state, saga.order, v1::ORDER_STATUS_CONFIRMED));
      v1::Event& confirmed = out.emplace_back(EmittedBy(event, OrderStream(decreased.order_id())));
      confirmed.mutable_order_confirmed()->set_order_id(decreased.order_id());
    }
  }
  SaveSaga(state, saga, event.position());
  return out;
}

absl::StatusOr<std::vector<v1::Event>> DecreaseFailed(ProjectionState& state,
                                                      const v1::Event& event) {
  const v1::StockDecreaseFailed& failed = event.stock_decrease_failed();
  SURGE_ASSIGN_OR_RETURN(std::optional<Saga> found, LoadSaga(state, failed.order_id()));
  if (!found.has_value()) return Park(state, failed.order_id(), event);
  Saga& saga = *found;
  SURGE_ASSIGN_OR_RETURN(internal::SagaLine * line, FindLine(saga, failed.line_index()));
  std::vector<v1::Event> out;
  // An answer for another body of this order id (see Decreased): not ours.
  if (!failed.sku().empty() &&
      (line->sku() != failed.sku() || line->quantity() != failed.quantity())) {
    return out;
  }
  if (line->state() != internal::LINE_STATE_PENDING) return out;  // already answered
  line->set_state(internal::LINE_STATE_FAILED);
  if (saga.state.status() == internal::SAGA_STATUS_PENDING) {
    SURGE_RETURN_IF_ERROR(Cancel(state, event, saga, failed.reason(), out));
  }
  SaveSaga(state, saga, event.position());
  return out;
}

absl::StatusOr<std::vector<v1::Event>> CancellationRequested(ProjectionState& state,
                                                             const v1::Event& event) {
  const v1::OrderCancellationRequested& request = event.order_cancellation_requested();
  SURGE_ASSIGN_OR_RETURN(std::optional<Saga> saga, LoadSaga(state, request.order_id()));
  std::vector<v1::Event> out;
  // Nothing to cancel: unknown (the command side validates) or already cancelled.
  if (!saga.has_value() || saga->state.status() == internal::SAGA_STATUS_CANCELLED) return out;
  SURGE_RETURN_IF_ERROR(Cancel(
      state, event, *saga, request.reason().empty() ? "cancelled by user" : request.reason(), out));
  SaveSaga(state, *saga, event.position());
  return out;
}

}  // namespace

std::string OrderStatusCountKey(v1::OrderStatus status) {
  return absl::StrCat("#count/", v1::OrderStatus_Name(status));
}

absl::StatusOr<uint64_t> ReadOrderStatusCount(StateReader& reader, v1::OrderStatus status) {
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                         reader.Get(kOrdersCf, OrderStatusCountKey(status)));
  return DecodeCount(bytes, status);
}

absl::StatusOr<std::vector<v1::Event>> OrderSagaProjection::Handle(ProjectionState& state,
                                                                   const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kOrderPlaced:
      return Placed(state, event);
    case v1::Event::kStockDecreased:
      return Decreased(state, event);
    case v1::Event::kStockDecreaseFailed:
      return DecreaseFailed(state, event);
    case v1::Event::kOrderCancellationRequested:
      return CancellationRequested(state, event);
    default:
      return std::vector<v1::Event>();
  }
}

}  // namespace surge::projections
