#include "server/pipeline.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "kafka/topic_check.h"
#include "kafka/topics.h"
#include "server/internal/relay_metrics.h"

namespace surge::server {
namespace {

// Writes `contents` to `path` through a temporary file and rename, so a
// reader never sees half a bootstrap string.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents << '\n';
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Start(const Options& options,
                                                          eventstore::EventStore& store,
                                                          Notifier& notifier) {
  if (options.partitions < 1) {
    return absl::InvalidArgumentError("kafka partitions must be at least 1");
  }
  std::unique_ptr<Pipeline> pipeline(new Pipeline(options, store));
  if (!options.data_dir.empty()) {
    pipeline->bootstrap_file_ = absl::StrCat(options.data_dir, "/", kBootstrapFileName);
    // A stale file from a crashed run would point clients at a dead broker.
    std::remove(pipeline->bootstrap_file_.c_str());
  }

  if (options.kafka_brokers.empty()) {
    kafka::EmbeddedBroker::Options broker_options;
    broker_options.brokers = options.embedded_brokers;
    broker_options.partitions = options.partitions;
    broker_options.replication_factor = std::min(3, options.embedded_brokers);
    SURGE_ASSIGN_OR_RETURN(pipeline->broker_, kafka::EmbeddedBroker::Start(broker_options));
    pipeline->bootstrap_servers_ = pipeline->broker_->bootstrap_servers();
    if (!pipeline->bootstrap_file_.empty()) {
      SURGE_RETURN_IF_ERROR(
          WriteFileAtomically(pipeline->bootstrap_file_, pipeline->bootstrap_servers_));
    }
    SURGE_LOG(INFO, "pipeline") << "embedded Kafka broker (" << options.embedded_brokers
                                << " brokers, " << options.partitions
                                << " partitions per topic) at " << pipeline->bootstrap_servers_
                                << (pipeline->bootstrap_file_.empty()
                                        ? std::string()
                                        : absl::StrCat(" (written to ", pipeline->bootstrap_file_,
                                                       ")"));
  } else {
    pipeline->bootstrap_servers_ = options.kafka_brokers;
    // The relay partitions by itself: the topics must have the partition
    // count it assumes, or per-key order and gap detection break silently.
    std::vector<kafka::ExpectedTopic> topics;
    for (const std::string& topic : kafka::EventTopics()) {
      topics.push_back({topic, options.partitions});
    }
    SURGE_RETURN_IF_ERROR(kafka::CheckTopics(
        {.bootstrap_servers = options.kafka_brokers, .client_config = options.producer_config},
        topics));
    SURGE_LOG(INFO, "pipeline") << "external Kafka at " << options.kafka_brokers << " ("
                                << options.partitions << " partitions per topic, checked)";
  }

  kafka::Relay::Options relay_options;
  relay_options.bootstrap_servers = pipeline->bootstrap_servers_;
  relay_options.embedded = pipeline->embedded();
  relay_options.partitions = options.partitions;
  relay_options.window = options.relay_window;
  relay_options.producer_config = options.producer_config;
  relay_options.origin = options.origin;
  relay_options.on_delivered = options.on_delivered;
  relay_options.produce_watch = &pipeline->produce_watch_;
  SURGE_ASSIGN_OR_RETURN(pipeline->relay_, kafka::Relay::Create(relay_options, store));
  SURGE_RETURN_IF_ERROR(pipeline->relay_->Start());

  kafka::Relay* relay = pipeline->relay_.get();
  projections::ProjectionPipeline::Options projection_options;
  projection_options.bootstrap_servers = pipeline->bootstrap_servers_;
  projection_options.retry_attempts = options.retry_attempts;
  projection_options.consumer_config = options.consumer_config;
  const int fetch_wait_ms = options.fetch_wait_ms > 0 ? options.fetch_wait_ms
                            : pipeline->embedded()    ? 1
                                                      : 100;
  // emplace: an explicit consumer_config setting wins.
  projection_options.consumer_config.emplace("fetch.wait.max.ms", absl::StrCat(fetch_wait_ms));
  SURGE_LOG(INFO, "pipeline") << "projections fetch with fetch.wait.max.ms="
                              << projection_options.consumer_config["fetch.wait.max.ms"];
  projection_options.producer_config = options.producer_config;
  projection_options.origin = options.origin;
  projection_options.on_foreign_origin = options.on_foreign_origin;
  projection_options.max_batch = options.projection_batch;
  projection_options.on_applied = [&notifier, relay] {
    notifier.Notify();
    relay->NotifyApplied();
  };
  projection_options.request_replay = [relay](uint64_t from) { relay->RequestReplay(from); };
  // The mock broker holds every empty fetch for fetch.wait.max.ms (1 ms
  // here), so an idle consumer would poll it a thousand times a second.
  // Here the relay is the only producer of the event topics, so idle
  // projections park until it produces. A real Kafka answers a fetch as
  // data arrives, and its topics may have other writers: poll as usual.
  if (pipeline->embedded()) projection_options.produce_watch = &pipeline->produce_watch_;
  SURGE_ASSIGN_OR_RETURN(pipeline->projections_,
                         projections::ProjectionPipeline::Start(projection_options, store));
  SURGE_LOG(INFO, "pipeline") << "relay and projections running";
  return pipeline;
}

Pipeline::~Pipeline() {
  // Members stop in reverse order of declaration: projections, relay, broker.
  projections_.reset();
  relay_.reset();
  if (broker_ != nullptr && !bootstrap_file_.empty()) std::remove(bootstrap_file_.c_str());
  broker_.reset();
  SURGE_LOG(INFO, "pipeline") << "stopped";
}

void Pipeline::RegisterMetrics(metrics::Metrics& metrics) {
  using metrics::Metrics;
  using metrics::Sample;
  using Samples = std::vector<Sample>;
  internal::RegisterRelayMetrics(metrics, *relay_, store_);

  auto per_projection = [this](auto field) {
    return [this, field] {
      Samples samples;
      for (const auto& r : projections_->GetStats()) {
        samples.push_back({{{"projection", r.projection}}, static_cast<double>(field(r.stats))});
      }
      return samples;
    };
  };
  using RunnerStats = projections::ProjectionRunner::Stats;
  metrics.RegisterCallback("surge_projection_position",
                           "Highest log position each projection applied.", Metrics::Kind::kGauge,
                           per_projection([](const RunnerStats& s) { return s.applied_position; }));
  // Measured on the projection's own topic: the log head also counts events
  // of other topics, which the projection never sees, so "head - applied
  // position" would not reach 0 when it is idle and caught up.
  metrics.RegisterCallback(
      "surge_projection_lag_messages",
      "Messages on the projection's topic not consumed yet (high watermark - position).",
      Metrics::Kind::kGauge, per_projection([](const RunnerStats& s) { return s.lag_messages; }));
  metrics.RegisterCallback("surge_projection_messages_total",
                           "Messages applied by each projection.", Metrics::Kind::kCounter,
                           per_projection([](const RunnerStats& s) { return s.applied; }));
  metrics.RegisterCallback("surge_projection_batches_total",
                           "Atomic batches committed by each projection.", Metrics::Kind::kCounter,
                           per_projection([](const RunnerStats& s) { return s.batches; }));
  metrics.RegisterCallback("surge_projection_duplicates_total",
                           "Messages skipped because their position was already applied.",
                           Metrics::Kind::kCounter,
                           per_projection([](const RunnerStats& s) { return s.duplicates; }));
  metrics.RegisterCallback(
      "surge_projection_parked",
      "1 while the projection is idle and has paused fetching until the relay produces "
      "(embedded broker).",
      Metrics::Kind::kGauge, per_projection([](const RunnerStats& s) { return s.parked ? 1 : 0; }));
  metrics.RegisterCallback(
      "surge_projection_parks_total", "Times the projection paused fetching because it was idle.",
      Metrics::Kind::kCounter, per_projection([](const RunnerStats& s) { return s.parks; }));
  metrics.RegisterCallback(
      "surge_projection_foreign_origin",
      "1 when the projection stopped because its topic holds events of another node's log "
      "(two nodes on one Kafka without --cluster); it applies nothing until restarted.",
      Metrics::Kind::kGauge,
      per_projection([](const RunnerStats& s) { return s.foreign_origin.empty() ? 0 : 1; }));
  metrics.RegisterCallback(
      "surge_projection_gaps_total", "Gaps detected (lost messages) that triggered a re-relay.",
      Metrics::Kind::kCounter, per_projection([](const RunnerStats& s) { return s.gaps; }));
  metrics.RegisterCallback("surge_projection_retries_total",
                           "Failed handling, append or dead-letter attempts that were tried again.",
                           Metrics::Kind::kCounter,
                           per_projection([](const RunnerStats& s) { return s.retries; }));
  // One histogram family over every projection; `field` picks the per-bucket
  // counts and their sum out of the runner's stats.
  auto per_projection_histogram = [this, &metrics](std::string name, std::string help,
                                                   std::vector<double> bounds, auto field) {
    metrics.RegisterHistogramCallback(
        std::move(name), std::move(help), std::move(bounds), [this, field] {
          std::vector<metrics::HistogramSample> samples;
          for (const auto& r : projections_->GetStats()) {
            const auto [buckets, sum] = field(r.stats);
            samples.push_back(
                {{{"projection", r.projection}}, {buckets.begin(), buckets.end()}, sum});
          }
          return samples;
        });
  };
  {
    std::vector<double> bounds;
    for (size_t i = 0; i < RunnerStats::kBatchSizeBuckets; ++i) {
      bounds.push_back(projections::ProjectionRunner::BatchSizeBound(i));
    }
    per_projection_histogram(
        "surge_projection_batch_size", "Kafka messages handled per projection batch.",
        std::move(bounds), [](const RunnerStats& s) {
          return std::make_pair(s.batch_sizes, static_cast<double>(s.consumed));
        });
  }
  const std::vector<double> seconds_bounds(projections::ProjectionRunner::kSecondsBounds.begin(),
                                           projections::ProjectionRunner::kSecondsBounds.end());
  per_projection_histogram(
      "surge_projection_event_age_seconds",
      "Per applied event: time from its commit to the log until its projection received it "
      "(relay + Kafka + waiting to be polled).",
      seconds_bounds,
      [](const RunnerStats& s) { return std::make_pair(s.event_ages.counts, s.event_ages.sum); });
  per_projection_histogram(
      "surge_projection_event_relay_seconds",
      "Per applied event: time from its commit to the log until the relay produced it to Kafka "
      "(its message's CreateTime; millisecond resolution).",
      seconds_bounds,
      [](const RunnerStats& s) { return std::make_pair(s.relay_ages.counts, s.relay_ages.sum); });
  per_projection_histogram(
      "surge_projection_event_kafka_seconds",
      "Per applied event: time from the relay producing it until its projection received it "
      "(producer linger, broker, fetch, consumer queue; millisecond resolution).",
      seconds_bounds,
      [](const RunnerStats& s) { return std::make_pair(s.kafka_ages.counts, s.kafka_ages.sum); });
  per_projection_histogram(
      "surge_projection_batch_seconds",
      "Per batch: time to handle and commit it (the projection's append included).", seconds_bounds,
      [](const RunnerStats& s) {
        return std::make_pair(s.batch_seconds.counts, s.batch_seconds.sum);
      });
  metrics.RegisterCallback(
      "surge_projection_dead_lettered_total", "Messages sent to the dead-letter topic, by topic.",
      Metrics::Kind::kCounter, [this] {
        Samples samples;
        for (const auto& r : projections_->GetStats()) {
          samples.push_back({{{"topic", r.topic}}, static_cast<double>(r.stats.dead_lettered)});
        }
        return samples;
      });
}

}  // namespace surge::server
