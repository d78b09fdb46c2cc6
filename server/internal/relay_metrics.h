// The relay's gauges and counters (surge_relay_*) as scrape-time metrics,
// for both the single-node pipeline and a cluster node.
#ifndef SURGE_SERVER_INTERNAL_RELAY_METRICS_H_
#define SURGE_SERVER_INTERNAL_RELAY_METRICS_H_

#include "eventstore/event_store.h"
#include "kafka/relay.h"
#include "metrics/metrics.h"

namespace surge::server::internal {

// `relay` and `store` must outlive the metrics' use of them.
void RegisterRelayMetrics(metrics::Metrics& metrics, kafka::Relay& relay,
                          eventstore::EventStore& store);

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_RELAY_METRICS_H_
