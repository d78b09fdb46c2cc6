#include "server/internal/cluster_metrics.h"

#include <string>
#include <vector>

namespace surge::server::internal {

void RegisterClusterMetrics(metrics::Metrics& metrics, const cluster::ClusterNode& node) {
  using metrics::Metrics;
  using Samples = std::vector<metrics::Sample>;
  const cluster::ClusterNode* n = &node;
  const std::string node_id = node.node_id();
  // One sample per decider from its stats.
  auto per_decider = [n, node_id](auto field) {
    return [n, node_id, field] {
      Samples samples;
      for (const auto& d : n->deciders()) {
        samples.push_back(
            {{{"node", node_id}, {"decider", d->name()}}, static_cast<double>(field(*d))});
      }
      return samples;
    };
  };
  using Decider = cluster::Decider;
  metrics.RegisterCallback(
      "surge_cluster_partitions_owned", "Input partitions this node decides, per decider.",
      Metrics::Kind::kGauge, per_decider([](const Decider& d) { return d.owned().size(); }));
  metrics.RegisterCallback(
      "surge_cluster_partitions", "Input partitions of each decider's topic (the whole cluster's).",
      Metrics::Kind::kGauge, [n] {
        Samples samples;
        for (const auto& d : n->deciders()) {
          samples.push_back({{{"decider", d->name()}}, static_cast<double>(n->partitions())});
        }
        return samples;
      });
  metrics.RegisterCallback(
      "surge_cluster_blocked_partitions",
      "Owned input partitions this node refuses to decide: their changelog lost its first "
      "records (retention), so their state cannot be restored.",
      Metrics::Kind::kGauge,
      per_decider([](const Decider& d) { return d.GetStats().blocked_partitions; }));
  metrics.RegisterCallback("surge_cluster_rebalances_total",
                           "Partition assignments and revocations served.", Metrics::Kind::kCounter,
                           per_decider([](const Decider& d) { return d.GetStats().rebalances; }));
  metrics.RegisterCallback(
      "surge_cluster_restored_keys_total", "Rows of decider state restored from changelogs.",
      Metrics::Kind::kCounter,
      per_decider([](const Decider& d) { return d.GetStats().restored_keys; }));
  metrics.RegisterCallback(
      "surge_cluster_state_keys", "Rows of decider state held for the owned partitions.",
      Metrics::Kind::kGauge, per_decider([](const Decider& d) { return d.GetStats().state_keys; }));
  // The single node's projection families, from the deciders, so that the
  // alerts on them (SurgeProjectionLagging, SurgeProjectionStuck) watch a
  // cluster's nodes too: each node reports the partitions it decides.
  auto per_projection = [n, node_id](auto field) {
    return [n, node_id, field] {
      Samples samples;
      for (const auto& d : n->deciders()) {
        samples.push_back(
            {{{"projection", d->name()}, {"node", node_id}}, static_cast<double>(field(*d))});
      }
      return samples;
    };
  };
  metrics.RegisterCallback(
      "surge_projection_lag_messages",
      "Cluster mode: input messages of the partitions this node decides not decided yet (high "
      "watermark - the offset the state reflects).",
      Metrics::Kind::kGauge,
      per_projection([](const Decider& d) { return d.GetStats().input_lag_messages; }));
  metrics.RegisterCallback(
      "surge_projection_position",
      "Cluster mode: the input offsets the states of the partitions this node decides reflect, "
      "summed (moves with every decided batch).",
      Metrics::Kind::kGauge,
      per_projection([](const Decider& d) { return d.GetStats().input_offsets; }));
  metrics.RegisterCallback("surge_cluster_decided_total", "Input events decided.",
                           Metrics::Kind::kCounter,
                           per_decider([](const Decider& d) { return d.GetStats().applied; }));
  metrics.RegisterCallback("surge_cluster_duplicates_total",
                           "Input events skipped: their (origin, position) was decided already.",
                           Metrics::Kind::kCounter,
                           per_decider([](const Decider& d) { return d.GetStats().duplicates; }));
  metrics.RegisterCallback(
      "surge_cluster_gaps_total",
      "Input events held back: earlier events of their origin had not arrived.",
      Metrics::Kind::kCounter, per_decider([](const Decider& d) { return d.GetStats().gaps; }));
  metrics.RegisterCallback("surge_cluster_changelog_records_total", "Changelog records written.",
                           Metrics::Kind::kCounter, per_decider([](const Decider& d) {
                             return d.GetStats().changelog_records;
                           }));
  metrics.RegisterCallback(
      "surge_projection_dead_lettered_total", "Messages sent to the dead-letter topic, by topic.",
      Metrics::Kind::kCounter, [n] {
        Samples samples;
        for (const auto& d : n->deciders()) {
          samples.push_back(
              {{{"topic", d->topic()}}, static_cast<double>(d->GetStats().dead_lettered)});
        }
        return samples;
      });
  const std::vector<double> bounds(Decider::kRestoreSecondsBounds.begin(),
                                   Decider::kRestoreSecondsBounds.end());
  metrics.RegisterHistogramCallback(
      "surge_cluster_restore_seconds",
      "Time to restore one gained partition's state from its changelog.", bounds, [n, node_id] {
        std::vector<metrics::HistogramSample> samples;
        for (const auto& d : n->deciders()) {
          const Decider::Stats s = d->GetStats();
          samples.push_back({{{"node", node_id}, {"decider", d->name()}},
                             {s.restore_seconds.begin(), s.restore_seconds.end()},
                             s.restore_seconds_sum});
        }
        return samples;
      });
  metrics.RegisterCallback(
      "surge_cluster_changelog_lag_messages",
      "Changelog records not yet mirrored into this node's read models, per decider.",
      Metrics::Kind::kGauge, [n, node_id] {
        Samples samples;
        for (const cluster::View::DeciderStats& s : n->view().GetStats()) {
          samples.push_back(
              {{{"node", node_id}, {"decider", s.decider}}, static_cast<double>(s.lag_messages)});
        }
        return samples;
      });
  metrics.RegisterCallback("surge_cluster_members", "Cluster members heard from, by liveness.",
                           Metrics::Kind::kGauge, [n, node_id] {
                             const v1::DescribeClusterResponse d = n->Describe();
                             double alive = 0;
                             double gone = 0;
                             for (const auto& m : d.members()) (m.alive() ? alive : gone) += 1;
                             return Samples{{{{"node", node_id}, {"state", "alive"}}, alive},
                                            {{{"node", node_id}, {"state", "gone"}}, gone}};
                           });
}

}  // namespace surge::server::internal
