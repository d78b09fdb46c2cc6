// The asynchronous half of surge-server: the Kafka cluster (the embedded
// librdkafka mock broker, or an external cluster through the same code
// path), the outbox relay that publishes the log's tail, and the three
// projections that turn it into read models and compensations.
//
//   Pipeline::Options options;            // defaults: embedded broker, 6 partitions
//   options.data_dir = "./surge-data";    // where kafka-bootstrap is published
//   SURGE_ASSIGN_OR_RETURN(auto pipeline, Pipeline::Start(options, *store, notifier));
//   pipeline->RegisterMetrics(*metrics);
//
// Start order: broker -> relay -> projections; destruction runs backwards
// (projections stop consuming before the relay stops, the relay flushes
// before the broker goes). After every applied projection batch the
// Notifier is bumped (settlement waits wake up) and the relay is told
// (it re-reads the applied positions that bound its window).
//
// Thread-safety: Start and destruction from one thread; the accessors from
// any. Borrows the store and the notifier, which must outlive it.
#ifndef SURGE_SERVER_PIPELINE_H_
#define SURGE_SERVER_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/notifier.h"
#include "eventstore/event_store.h"
#include "kafka/embedded_broker.h"
#include "kafka/relay.h"
#include "metrics/metrics.h"
#include "projections/dead_letters.h"
#include "projections/pipeline.h"

namespace surge::server {

// File in the data dir holding the embedded broker's bootstrap servers, so
// kcat, surge-cli and other processes can join it.
inline constexpr char kBootstrapFileName[] = "kafka-bootstrap";

class Pipeline {
 public:
  struct Options {
    // --- behaviour ---
    // Kafka bootstrap servers; empty = start the embedded broker in-process.
    std::string kafka_brokers;
    // Partitions of each event topic (embedded: created so; external: the
    // topics must already have exactly this many). One consumer reads each
    // topic here, so the embedded default of 1 loses nothing; App asks for 6
    // with an external Kafka (room for more nodes' consumers).
    int partitions = 1;
    // Brokers of the embedded cluster. 1 is the cheapest (one broker thread,
    // one fetch per consumer); 3 lets a broker go down while the others
    // serve, which only fault drills need.
    int embedded_brokers = 1;
    // Where the embedded broker's bootstrap file is written (data dir).
    std::string data_dir;
    // Handling attempts of a failing message before it is dead-lettered.
    int retry_attempts = 5;
    // Called whenever the relay's delivered position moves (--ack=kafka).
    std::function<void(uint64_t)> on_delivered;
    // This node's log (cluster/origin.h): written into every message's
    // surge-origin header, and a projection that reads another origin
    // stops applying (another node on the same topics without --cluster).
    // Empty: messages carry the node id, and nothing is checked.
    std::string origin;
    // Called once per projection that stopped so (on its thread).
    std::function<void(const std::string& foreign_origin)> on_foreign_origin;
    // Raw librdkafka settings for the relay's producer and the consumers.
    std::map<std::string, std::string> producer_config;
    std::map<std::string, std::string> consumer_config;

    // --- performance ---
    // How long a broker may hold a projection's empty fetch (librdkafka's
    // fetch.wait.max.ms). 0: automatic, 1 ms with the embedded broker, which
    // holds it in full even when data arrives meanwhile (so every hop of a
    // saga waits up to this long; measured: settle p50 8 ms at 1 ms against
    // 15 ms at 5 ms), and 100 ms with an external Kafka, which answers as
    // soon as data arrives. The price of a short wait is idle fetches: the
    // embedded broker walks its retained message sets on each (measured
    // idle server CPU: 16% of a core at 1 ms, 11% at 2, 5% at 5).
    // A fetch.wait.max.ms in consumer_config wins.
    int fetch_wait_ms = 0;
    // Events the relay may run ahead of the slowest projection. Keeps the
    // embedded broker's ~5 MiB/partition retention safe.
    uint64_t relay_window = 20000;
    // Messages a projection applies per atomic append.
    size_t projection_batch = 500;
  };

  static absl::StatusOr<std::unique_ptr<Pipeline>> Start(const Options& options,
                                                         eventstore::EventStore& store,
                                                         Notifier& notifier);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  const std::string& bootstrap_servers() const { return bootstrap_servers_; }
  bool embedded() const { return broker_ != nullptr; }
  projections::DeadLetters& dead_letters() { return projections_->dead_letters(); }
  kafka::Relay& relay() { return *relay_; }
  projections::ProjectionPipeline& projections() { return *projections_; }

  // Relay and projection positions, lags and counters as scrape-time metrics.
  // `metrics` must outlive this pipeline's use of it (the server keeps both
  // until shutdown; callbacks hold a pointer to this Pipeline).
  void RegisterMetrics(metrics::Metrics& metrics);

 private:
  Pipeline(const Options& options, eventstore::EventStore& store)
      : options_(options), store_(store) {}

  const Options options_;
  eventstore::EventStore& store_;
  std::string bootstrap_servers_;
  std::string bootstrap_file_;
  // Declared in start order; destroyed in reverse.
  std::unique_ptr<kafka::EmbeddedBroker> broker_;
  // The relay reports what it produces; idle projections park on it
  // (embedded broker only, see Start).
  kafka::ProduceWatch produce_watch_;
  std::unique_ptr<kafka::Relay> relay_;
  std::unique_ptr<projections::ProjectionPipeline> projections_;
};

}  // namespace surge::server

#endif  // SURGE_SERVER_PIPELINE_H_
