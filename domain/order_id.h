// Generation of order ids.
//
// Format: "o-<12 hex: microseconds since epoch>-<16 hex: random>", e.g.
// "o-05f2c4a1b2c3-9f86d081884c7d65". Ids sort roughly by creation time
// (handy when reading logs) and carry 64 random bits, so two nodes or a
// restarted node never need coordination. They use only [0-9a-f-], a subset
// of the id charset of ARCHITECTURE.md §4. Should two ids ever collide, PlaceOrder's
// NO_STREAM expectation turns it into a retry with a fresh id, never into a
// merged order.
//
// Thread-safe.
#ifndef SURGE_DOMAIN_ORDER_ID_H_
#define SURGE_DOMAIN_ORDER_ID_H_

#include <string>

#include "absl/strings/string_view.h"

namespace surge::domain {

std::string NewOrderId();

// The order id of a PlaceOrder request: "o-" + 32 hex characters of the
// SHA-256 of its request_id. Every node derives the same id from the same
// request_id, so a client that retries on another node gets the same order
// (and the order saga, which owns the id's partition, sees one order).
std::string OrderIdFor(absl::string_view request_id);

}  // namespace surge::domain

#endif  // SURGE_DOMAIN_ORDER_ID_H_
