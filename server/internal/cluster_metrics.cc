#include "server/internal/cluster_metrics.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

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
      "Owned input partitions this node refuses to decide: their changelog holds neither a "
      "complete snapshot nor its first records (retention), so their state cannot be restored.",
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
      "surge_projection_lag_seconds",
      "Cluster mode: over the partitions this node decides that have input lag, the longest "
      "since the last input decided there was committed to its log.",
      Metrics::Kind::kGauge,
      per_projection([](const Decider& d) { return d.GetStats().input_lag_seconds; }));
  {
    const std::vector<double> age_bounds(projections::ProjectionRunner::kSecondsBounds.begin(),
                                         projections::ProjectionRunner::kSecondsBounds.end());
    metrics.RegisterHistogramCallback(
        "surge_projection_event_age_seconds",
        "Per applied event: time from its commit to the log until its projection received it "
        "(cluster mode: until its decider decided it).",
        age_bounds, [n, node_id] {
          std::vector<metrics::HistogramSample> samples;
          for (const auto& d : n->deciders()) {
            const Decider::Stats s = d->GetStats();
            samples.push_back({{{"projection", d->name()}, {"node", node_id}},
                               {s.event_ages.counts.begin(), s.event_ages.counts.end()},
                               s.event_ages.sum});
          }
          return samples;
        });
  }
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
  metrics.RegisterCallback("surge_cluster_snapshots_total",
                           "Complete snapshots of decider partition states written to changelogs.",
                           Metrics::Kind::kCounter,
                           per_decider([](const Decider& d) { return d.GetStats().snapshots; }));
  metrics.RegisterCallback(
      "surge_cluster_snapshot_bytes_total", "Bytes of the snapshots written.",
      Metrics::Kind::kCounter,
      per_decider([](const Decider& d) { return d.GetStats().snapshot_bytes; }));
  metrics.RegisterCallback(
      "surge_cluster_snapshot_failures_total",
      "Snapshots not acknowledged whole by Kafka (the next batch tries again).",
      Metrics::Kind::kCounter,
      per_decider([](const Decider& d) { return d.GetStats().snapshot_failures; }));
  metrics.RegisterCallback(
      "surge_cluster_restores_total",
      "Gained partitions restored, by source: this node's warm standby (its view's copy) and "
      "the records since, a snapshot and its tail, or the changelog from its first record.",
      Metrics::Kind::kCounter, [n, node_id] {
        Samples samples;
        for (const auto& d : n->deciders()) {
          const Decider::Stats s = d->GetStats();
          samples.push_back({{{"node", node_id}, {"decider", d->name()}, {"source", "snapshot"}},
                             static_cast<double>(s.restores_from_snapshot)});
          samples.push_back({{{"node", node_id}, {"decider", d->name()}, {"source", "standby"}},
                             static_cast<double>(s.restores_from_standby)});
          samples.push_back(
              {{{"node", node_id}, {"decider", d->name()}, {"source", "changelog"}},
               static_cast<double>(s.restores - s.restores_from_snapshot -
                                   s.restores_from_standby)});
        }
        return samples;
      });
  metrics.RegisterCallback(
      "surge_cluster_restored_bytes_total",
      "Changelog bytes read by restores, by part: snapshot chunks, or the records after them.",
      Metrics::Kind::kCounter, [n, node_id] {
        Samples samples;
        for (const auto& d : n->deciders()) {
          const Decider::Stats s = d->GetStats();
          samples.push_back({{{"node", node_id}, {"decider", d->name()}, {"part", "snapshot"}},
                             static_cast<double>(s.restored_snapshot_bytes)});
          samples.push_back({{{"node", node_id}, {"decider", d->name()}, {"part", "tail"}},
                             static_cast<double>(s.restored_record_bytes)});
        }
        return samples;
      });
  // Per owned partition: how old and how big its latest snapshot is, and
  // what its state weighs (the next snapshot's size).
  auto per_partition = [n, node_id](auto field) {
    return [n, node_id, field] {
      Samples samples;
      const int64_t now_ms = absl::ToUnixMillis(absl::Now());
      for (const auto& d : n->deciders()) {
        for (const Decider::OwnedPartition& p : d->owned()) {
          const std::optional<double> value = field(p, now_ms);
          if (!value.has_value()) continue;
          samples.push_back({{{"node", node_id},
                              {"decider", d->name()},
                              {"partition", absl::StrCat(p.partition)}},
                             *value});
        }
      }
      return samples;
    };
  };
  metrics.RegisterCallback(
      "surge_cluster_snapshot_age_seconds",
      "Per owned partition: seconds since its latest complete snapshot was written (absent: "
      "none yet).",
      Metrics::Kind::kGauge,
      per_partition([](const Decider::OwnedPartition& p, int64_t now_ms) -> std::optional<double> {
        if (p.snapshot_unix_ms <= 0) return std::nullopt;
        return static_cast<double>(std::max<int64_t>(0, now_ms - p.snapshot_unix_ms)) / 1000.0;
      }));
  metrics.RegisterCallback(
      "surge_cluster_snapshot_size_bytes",
      "Per owned partition: bytes of its latest complete snapshot in the changelog.",
      Metrics::Kind::kGauge,
      per_partition([](const Decider::OwnedPartition& p, int64_t) -> std::optional<double> {
        if (p.snapshot_unix_ms <= 0) return std::nullopt;
        return static_cast<double>(p.snapshot_bytes);
      }));
  metrics.RegisterCallback(
      "surge_cluster_state_bytes",
      "Per owned partition: bytes of its decider state (rows a snapshot would hold).",
      Metrics::Kind::kGauge,
      per_partition([](const Decider::OwnedPartition& p, int64_t) -> std::optional<double> {
        return static_cast<double>(p.state_bytes);
      }));
  const std::vector<double> bounds(Decider::kRestoreSecondsBounds.begin(),
                                   Decider::kRestoreSecondsBounds.end());
  metrics.RegisterHistogramCallback(
      "surge_cluster_restore_seconds",
      "Time to restore gained partitions' state (all gained at once, each counted), by source: "
      "standby (this node's warm copy and the records since), snapshot (a snapshot and its "
      "tail), changelog (from the first record).",
      bounds, [n, node_id] {
        std::vector<metrics::HistogramSample> samples;
        for (const auto& d : n->deciders()) {
          const Decider::Stats s = d->GetStats();
          for (size_t i = 0; i < s.restore_seconds_by_source.size(); ++i) {
            const Decider::Stats::RestoreHistogram& h = s.restore_seconds_by_source[i];
            samples.push_back({{{"node", node_id},
                                {"decider", d->name()},
                                {"source", Decider::kRestoreSourceNames[i]}},
                               {h.counts.begin(), h.counts.end()},
                               h.sum});
          }
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
