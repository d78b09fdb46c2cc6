// Which events a Subscribe stream carries: all of them, or only those whose
// payload is one of the named types. Names are the Event.payload field
// names ("order_confirmed", "coupon_issued", ...), the same names the relay
// writes into each Kafka message's surge-event-type header.
//
// A client that only waits for decisions (a checkout page, a load
// generator) then receives one event per order instead of the six an order
// writes, and the server serialises and sends only those.
//
// Immutable after Parse; safe to share between threads.
#ifndef SURGE_SERVER_INTERNAL_EVENT_TYPE_FILTER_H_
#define SURGE_SERVER_INTERNAL_EVENT_TYPE_FILTER_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "surge/v1/events.pb.h"

namespace surge::server::internal {

class EventTypeFilter {
 public:
  // Every event passes.
  EventTypeFilter() = default;

  // An empty list lets every event pass. INVALID_ARGUMENT names an unknown
  // type and lists the known ones; repeats are harmless.
  static absl::StatusOr<EventTypeFilter> Parse(absl::Span<const std::string> names);

  bool Matches(const v1::Event& event) const {
    return cases_.empty() || cases_.count(static_cast<int>(event.payload_case())) > 0;
  }
  bool all() const { return cases_.empty(); }

 private:
  std::set<int> cases_;  // payload field numbers; empty = all
};

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_EVENT_TYPE_FILTER_H_
