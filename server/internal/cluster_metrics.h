// Cluster mode's metrics (surge_cluster_*, labelled by node and decider):
// partitions owned, rebalances, restore time and size, decisions, changelog
// lag of the view, members seen. Also the single-node names operators'
// alerts use where they mean the same (surge_projection_dead_lettered_total).
#ifndef SURGE_SERVER_INTERNAL_CLUSTER_METRICS_H_
#define SURGE_SERVER_INTERNAL_CLUSTER_METRICS_H_

#include "cluster/node.h"
#include "metrics/metrics.h"

namespace surge::server::internal {

// `node` must outlive the metrics' use of it.
void RegisterClusterMetrics(metrics::Metrics& metrics, const cluster::ClusterNode& node);

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_CLUSTER_METRICS_H_
