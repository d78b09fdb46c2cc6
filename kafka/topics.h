// Where surge's events go in Kafka: the topic names, how an event is routed
// to a topic and key, the headers every relayed message carries, and the
// partitioner (Kafka's murmur2, compatible with the Java client's default).
//
//   SURGE_ASSIGN_OR_RETURN(Route route, RouteEvent(event));
//   int32_t partition = PartitionFor(route.key, 6);
//
// Everything here is a pure function or a constant: thread-safe.
#ifndef SURGE_KAFKA_TOPICS_H_
#define SURGE_KAFKA_TOPICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "surge/v1/events.pb.h"

namespace surge::kafka {

// Topics. Keys keep per-entity order: an order's events, a SKU's stock
// requests and a campaign's coupon requests are each handled serially.
inline constexpr char kOrdersTopic[] = "surge.orders";    // key = order id
inline constexpr char kStockTopic[] = "surge.stock";      // key = sku
inline constexpr char kCouponsTopic[] = "surge.coupons";  // key = campaign code

// The three event topics, in a fixed order.
std::vector<std::string> EventTopics();

// The dead-letter twin of a topic: "<topic>.dlt".
std::string DeadLetterTopic(absl::string_view topic);

// Headers of every message the relay produces.
// The payload's field name in v1::Event, e.g. "order_placed".
inline constexpr char kEventTypeHeader[] = "surge-event-type";
// v1::Event::event_id.
inline constexpr char kEventIdHeader[] = "surge-event-id";
// The event's log position, decimal.
inline constexpr char kPositionHeader[] = "surge-position";
// v1::Event::node_id: the node whose log the event comes from.
inline constexpr char kNodeHeader[] = "surge-node";
// Gap protocol: the position of the previous message the relay produced to
// the same (topic, partition) since it last (re)started or rewound, decimal;
// "0" for the first one after a (re)start or rewind. A consumer that has
// applied up to A on a partition and receives a message with prev > A (and
// prev != 0) has missed messages and asks the relay for a replay.
inline constexpr char kPrevPositionHeader[] = "surge-prev-position";

// The incarnation of the log an event comes from: "<node_id>~<data-dir id>"
// (cluster mode; see cluster/origin.h). Positions are unique per origin, so
// consumers deduplicate per (origin, position): a node that lost its disk
// and starts again under the same node id is a new origin.
inline constexpr char kOriginHeader[] = "surge-origin";

// Cluster mode: a dead letter handed back to its partition's owner for a
// replay carries the dead letter's id (ListDeadLetters); the owner decides
// it once per id, past the (origin, position) deduplication.
inline constexpr char kReplayOfHeader[] = "surge-replay-of";

// Cluster mode: the decider state changelog of an event topic,
// "<topic>.changelog" (same partition count as the topic).
std::string ChangelogTopic(absl::string_view topic);
// Cluster mode: membership heartbeats (one partition).
inline constexpr char kClusterTopic[] = "surge.cluster";

// Where one event goes.
struct Route {
  std::string topic;
  std::string key;
};

// Routes an event by its payload. INVALID_ARGUMENT when the event has no
// payload (or one this build does not know) or the routing key is empty.
absl::StatusOr<Route> RouteEvent(const v1::Event& event);

// The payload's field name ("order_placed"), or "" when there is none.
std::string EventTypeName(const v1::Event& event);

// Kafka's murmur2 hash (the Java client's Utils.murmur2, seed 0x9747b28c).
int32_t Murmur2(absl::string_view data);

// The Java client's default partitioner for a non-null key:
// (murmur2(key) & 0x7fffffff) % partition_count. Requires partition_count > 0.
int32_t PartitionFor(absl::string_view key, int32_t partition_count);

}  // namespace surge::kafka

#endif  // SURGE_KAFKA_TOPICS_H_
