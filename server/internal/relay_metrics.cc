#include "server/internal/relay_metrics.h"

#include <algorithm>
#include <vector>

#include "absl/time/clock.h"

namespace surge::server::internal {

void RegisterRelayMetrics(metrics::Metrics& metrics, kafka::Relay& relay,
                          eventstore::EventStore& store) {
  using metrics::Metrics;
  using metrics::Sample;
  using Samples = std::vector<Sample>;
  auto relay_value = [&relay](auto field) {
    return [&relay, field] { return Samples{{{}, static_cast<double>(field(relay.GetStats()))}}; };
  };
  metrics.RegisterCallback(
      "surge_relay_position", "Highest log position delivered to Kafka (contiguous).",
      Metrics::Kind::kGauge,
      relay_value([](const kafka::Relay::Stats& s) { return s.delivered_position; }));
  metrics.RegisterCallback(
      "surge_relay_low_watermark",
      "Every log position at or below it is applied by the projections.", Metrics::Kind::kGauge,
      relay_value([](const kafka::Relay::Stats& s) { return s.low_watermark; }));
  metrics.RegisterCallback(
      "surge_relay_lag_events", "Log events not yet delivered to Kafka (head - relay position).",
      Metrics::Kind::kGauge, [&relay, &store] {
        const uint64_t head = store.HeadPosition();
        const uint64_t delivered = relay.GetStats().delivered_position;
        return Samples{{{}, static_cast<double>(head > delivered ? head - delivered : 0)}};
      });
  metrics.RegisterCallback("surge_relay_lag_seconds",
                           "Age of the oldest event not yet delivered to Kafka (0 when caught up).",
                           Metrics::Kind::kGauge, [&relay, &store] {
                             // The event right after the delivered position is the oldest one
                             // waiting; its recorded time says how long (one point read).
                             const uint64_t delivered = relay.GetStats().delivered_position;
                             double lag = 0;
                             if (store.HeadPosition() > delivered) {
                               absl::StatusOr<std::vector<v1::Event>> next =
                                   store.ReadAll(delivered + 1, 1);
                               if (next.ok() && !next->empty() && next->front().has_recorded_at()) {
                                 const google::protobuf::Timestamp& t = next->front().recorded_at();
                                 const absl::Time recorded = absl::FromUnixSeconds(t.seconds()) +
                                                             absl::Nanoseconds(t.nanos());
                                 lag = std::max(0.0, absl::ToDoubleSeconds(absl::Now() - recorded));
                               }
                             }
                             return Samples{{{}, lag}};
                           });
  metrics.RegisterCallback("surge_relay_produced_total",
                           "Messages handed to the Kafka producer (incl. re-sends).",
                           Metrics::Kind::kCounter,
                           relay_value([](const kafka::Relay::Stats& s) { return s.produced; }));
  metrics.RegisterCallback(
      "surge_relay_errors_total", "Relay delivery, read and checkpoint errors (all retried).",
      Metrics::Kind::kCounter, relay_value([](const kafka::Relay::Stats& s) { return s.errors; }));
  metrics.RegisterCallback(
      "surge_relay_rewinds_total", "Relay rewinds: replays asked by consumers, failures, stalls.",
      Metrics::Kind::kCounter, relay_value([](const kafka::Relay::Stats& s) { return s.rewinds; }));
}

}  // namespace surge::server::internal
