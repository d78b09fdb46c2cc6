// A projection: the pure domain logic that turns the events of one Kafka
// topic into read-model rows and new events (decisions, compensations).
//
//   StockProjection stock;
//   OverlayState state(&store);
//   SURGE_ASSIGN_OR_RETURN(std::vector<v1::Event> emitted, stock.Handle(state, event));
//
// Handlers are deterministic functions of (state, event): no clock, no I/O
// apart from `state`. They ignore event types they do not own (every event
// of a topic flows through its projection) and are idempotent on the domain
// level on top of the runner's position dedupe.
#ifndef SURGE_PROJECTIONS_PROJECTION_H_
#define SURGE_PROJECTIONS_PROJECTION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "projections/projection_state.h"
#include "surge/v1/events.pb.h"

namespace surge::projections {

class Projection {
 public:
  virtual ~Projection() = default;
  // The name used in checkpoint keys ("stock", "order-saga", "coupons").
  virtual std::string name() const = 0;
  // Applies `event` to `state` and returns the events to append (stream_id
  // and payload set; correlation and causation filled from `event`).
  // INVALID_ARGUMENT for an event that can never be applied (a malformed
  // payload); FAILED_PRECONDITION when it contradicts the state (e.g. refers
  // to an unknown order); DATA_LOSS for an unreadable stored row.
  virtual absl::StatusOr<std::vector<v1::Event>> Handle(ProjectionState& state,
                                                        const v1::Event& event) = 0;
};

// A new event caused by `cause`: correlation id copied, causation id = the
// cause's event id, stream `stream_id`. The caller sets the payload.
v1::Event EmittedBy(const v1::Event& cause, std::string stream_id);

// Reads a proto row; nullopt when absent; DATA_LOSS when it does not parse.
template <typename Message>
absl::StatusOr<std::optional<Message>> GetRow(ProjectionState& state, const std::string& cf,
                                              const std::string& key) {
  absl::StatusOr<std::optional<std::string>> bytes = state.Get(cf, key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<Message>();
  Message message;
  if (!message.ParseFromString(**bytes)) {
    return absl::DataLossError(absl::StrCat("unreadable row ", cf, "/", key));
  }
  return std::optional<Message>(std::move(message));
}

template <typename Message>
void PutRow(ProjectionState& state, const std::string& cf, const std::string& key,
            const Message& message) {
  state.Put(cf, key, message.SerializeAsString());
}

// As PutRow, for a row only the read models need (ProjectionState::PutReadModel).
template <typename Message>
void PutReadModelRow(ProjectionState& state, const std::string& cf, const std::string& key,
                     const Message& message) {
  state.PutReadModel(cf, key, message.SerializeAsString());
}

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_PROJECTION_H_
