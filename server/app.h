// The surge-server process as an object: opens the event store, builds the
// command/query cores and the gRPC services, and serves them (with health
// checking and server reflection) until Shutdown().
//
//   App::Options options;  // defaults: 127.0.0.1:50051, ./surge-data, sync
//   SURGE_ASSIGN_OR_RETURN(std::unique_ptr<App> app, App::Start(options));
//   ...  // wait for SIGTERM
//   app->Shutdown();
//
// Start-up order: validate options -> open the store -> [pipeline: Kafka
// broker, relay, projections; see app.cc] -> cores and services -> gRPC
// serving (health SERVING). Shutdown runs it backwards.
//
// Thread-safety: Start and Shutdown from one thread; the accessors from any.
#ifndef SURGE_SERVER_APP_H_
#define SURGE_SERVER_APP_H_

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/node.h"
#include "common/notifier.h"
#include "domain/commands.h"
#include "domain/queries.h"
#include "eventstore/event_store.h"
#include "metrics/metrics.h"
#include "server/admin_auth.h"
#include "server/cluster_service.h"
#include "server/coupon_service.h"
#include "server/dead_letter_service.h"
#include "server/event_store_service.h"
#include "server/internal/admission.h"
#include "server/internal/admission_ticker.h"
#include "server/internal/in_flight_calls.h"
#include "server/internal/kafka_acked_store.h"
#include "server/internal/peer_reads.h"
#include "server/inventory_service.h"
#include "server/order_service.h"
#include "server/pipeline.h"

namespace surge::server {

// The grpc.health.v1 service name that reads SERVING once the pipeline has
// decided something since start (admission's warm-up is over), NOT_SERVING
// before: a node is ready for a sale's opening burst. "" is SERVING as soon
// as the server accepts calls.
inline constexpr char kDecidingHealthService[] = "surge.deciding";

class App {
 public:
  struct Options {
    // --- behaviour ---
    // host:port to serve gRPC on; port 0 picks a free port (see port()).
    // A non-loopback address needs admin_token_file.
    std::string grpc_addr = "127.0.0.1:50051";
    // host:port of the Prometheus endpoint (/metrics). Port 0 picks a free
    // port; empty disables the endpoint.
    std::string metrics_addr = "127.0.0.1:9464";
    // When set, the bound metrics port is written there once serving.
    std::string metrics_port_file;
    // The RocksDB data directory (created when missing).
    std::string data_dir = "./surge-data";
    // kSync: every acknowledged command survives a machine crash.
    eventstore::Durability durability = eventstore::Durability::kSync;
    // File holding the admin bearer token (whitespace trimmed). Empty: admin
    // RPCs are open, which is only allowed on a loopback grpc_addr.
    std::string admin_token_file;
    // PEM server certificate and key; both or neither. Empty: plaintext.
    std::string tls_cert_file;
    std::string tls_key_file;
    // PEM CA bundle; when set, clients must present a certificate it signed.
    std::string tls_client_ca_file;
    // Kafka bootstrap servers; empty = the embedded broker (in-process,
    // memory only; its address is written to <data_dir>/kafka-bootstrap).
    std::string kafka_brokers;
    // librdkafka settings from --kafka_config_file (kafka/client_config.h),
    // applied over surge's own to every producer and every consumer the
    // server makes. Empty with the embedded broker.
    std::map<std::string, std::string> kafka_producer_config;
    std::map<std::string, std::string> kafka_consumer_config;
    // Partitions of each event topic (embedded: created so; external: must
    // match the existing topics). 0: 1 for the embedded broker, where one
    // consumer reads each topic and more partitions only cost memory (its
    // ~5 MiB retention is per partition) and fetch work (it finds a fetch
    // offset by walking a partition's message sets); 6 for an external
    // cluster.
    int kafka_partitions = 0;
    // Brokers of the embedded cluster (ignored with kafka_brokers). 1 is the
    // cheapest (~20% more orders accepted than 3 in a closed loop on 2
    // CPUs); more give leader moves and replicas for fault drills.
    int embedded_brokers = 1;
    // Handling attempts of a failing message before it is dead-lettered.
    int projection_retry_attempts = 5;
    // This node's id in events and event ids ([A-Za-z0-9._:-], 1-128 bytes).
    std::string node_id = "node-1";
    // When set, the bound gRPC port is written there (atomically) once
    // serving, for callers that asked for port 0.
    std::string port_file;
    // Cluster mode: this node is one of N on the Kafka cluster at
    // kafka_brokers (required); deciders run in consumer groups, every node
    // mirrors every decision (cluster/node.h). False: the single node.
    bool cluster = false;
    // Deciders' session.timeout.ms in cluster mode: how long a silent node
    // keeps its partitions. Kafka's default; tests use a few seconds.
    int cluster_session_timeout_ms = 45000;
    // Cluster mode: a decider partition's state is snapshotted into its
    // changelog after this many bytes of changelog records since the last
    // snapshot (0: never; a restore then needs the changelog whole from
    // offset 0). See cluster::Decider::Options.
    uint64_t cluster_snapshot_bytes = 1 << 20;
    // Cluster mode: the deciders' partition.assignment.strategy, the same on
    // every node: "range" (eager: all are revoked at every rebalance and
    // taken up again from the warm standbys) or "cooperative-sticky" (only
    // partitions that change owner move; see README for librdkafka 2.0.2's
    // faults with it).
    std::string cluster_assignment_strategy = "range";
    // Cluster mode: how long a GetCouponRequest that finds nothing here
    // waits for the other nodes' answers (a rejected request decided before
    // the snapshot this node's view resumed from is only on the nodes that
    // followed the whole changelog; server/internal/peer_reads.h). Zero:
    // never ask them.
    absl::Duration cluster_peer_read_timeout = absl::Seconds(1);
    // Cluster mode with TLS: PEM roots that sign the other nodes'
    // certificates, for those reads. Empty: this node's own --tls_cert.
    std::string cluster_peer_ca_file;
    // When a command is answered. kLog: after the local fsync (a node whose
    // disk is lost loses what it had not relayed yet). kKafka: after Kafka
    // acknowledged its events (acks=all) as well: losing a node with its
    // disk loses no acknowledged command, for one more round trip.
    enum class Ack { kLog, kKafka };
    Ack ack = Ack::kLog;
    // kKafka: longest a command waits for Kafka before UNAVAILABLE. Cluster
    // mode: also the longest CreateCampaign waits for the coupon decider's
    // decision (internal/campaign_confirmation.h).
    absl::Duration ack_timeout = absl::Seconds(10);
    // Admission's hard cap: PlaceOrder and RequestCoupon get
    // RESOURCE_EXHAUSTED while more than this many log events are accepted
    // but not yet decided (log head minus the relay's low watermark: every
    // position at or below it is applied). A guard on the backlog's memory
    // and Kafka retention, not on latency: it holds a 5,000-order burst and
    // a 10,000-request coupon burst at once. Applies during warm-up too.
    // 0: no cap.
    uint64_t max_decision_lag = 100000;
    // Admission's budget: RESOURCE_EXHAUSTED once the backlog would take
    // longer than this to decide at the measured decision rate, or the
    // oldest undecided command has waited longer (decisions stopped); see
    // internal/admission.h. A burst the node decides within it is accepted
    // in full; shorter refuses bursts (their clients retry behind later
    // arrivals), longer lets accepted commands wait longer under overload.
    // Off until the pipeline has decided once since start (warm-up).
    // Zero: no time bound.
    absl::Duration max_decision_delay = absl::Seconds(3);

    // --- performance ---
    // Largest gRPC message accepted or sent. A 100-line order is ~15 KiB and
    // a ReadAll page of 1,000 events well under this.
    int max_message_bytes = 4 << 20;
    // Concurrent EventStoreService.Subscribe streams (one thread each).
    size_t max_subscriptions = 64;
    // How long Shutdown lets in-flight calls finish before cancelling them
    // (it returns as soon as none is left).
    absl::Duration shutdown_grace = absl::Seconds(5);
    // Event store tuning (queue, batches, caches); see eventstore::Options.
    size_t append_queue_capacity = eventstore::Options().queue_capacity;
    size_t append_queue_bytes = eventstore::Options().queue_capacity_bytes;
    // Events the relay may run ahead of the slowest projection.
    uint64_t relay_window = 20000;
    // Messages a projection applies per atomic append.
    size_t projection_batch = 500;
    // How long the Kafka broker may hold a projection's empty fetch, in ms;
    // 0: 1 with the embedded broker, 100 with --kafka_brokers (see
    // Pipeline::Options::fetch_wait_ms).
    int kafka_fetch_wait_ms = 0;
  };

  // INVALID_ARGUMENT for inconsistent options (non-loopback without token,
  // half a TLS pair, bad node id), the store's error when the data dir cannot
  // be opened (e.g. FAILED_PRECONDITION for another FORMAT), UNAVAILABLE
  // when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<App>> Start(const Options& options);

  // Shuts down if still running.
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Health NOT_SERVING, settlement waits answered, subscriptions ended,
  // gRPC stopped (in-flight calls get shutdown_grace), then the store closes
  // after draining its append queue. Idempotent.
  void Shutdown();

  int port() const { return port_; }
  // The bound metrics port, 0 without an endpoint.
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  eventstore::EventStore& store() { return *store_; }
  // Bumped by the projections after every applied batch; wakes settlement
  // waits.
  Notifier& notifier() { return notifier_; }

 private:
  explicit App(Options options) : options_(std::move(options)) {}
  absl::Status Init();
  absl::Status StartGrpc();
  absl::Status StartMetrics();
  void RegisterMetrics();
  // Health NOT_SERVING from now on (shutdown; a projection that found
  // another node's events on its topics). Any thread.
  void StopServing();

  const Options options_;
  Notifier notifier_;
  std::unique_ptr<eventstore::EventStore> store_;
  // --ack=kafka only: what the command handler appends through.
  std::unique_ptr<internal::KafkaAckedStore> acked_store_;
  // Exactly one of the two runs the asynchronous half.
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<cluster::ClusterNode> cluster_;
  // Reads the store and the relay; used by commands_ and metrics_, which
  // are destroyed first. Built even with both bounds off (its figures are
  // metrics); commands_ consults it only when a bound is on.
  std::unique_ptr<internal::Admission> admission_;
  // Observes admission_ while a backlog drains (its rate samples).
  std::unique_ptr<internal::AdmissionTicker> admission_ticker_;
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<AdminAuth> auth_;
  std::unique_ptr<domain::CommandHandler> commands_;
  std::unique_ptr<domain::QueryHandler> queries_;
  std::unique_ptr<OrderService> order_service_;
  std::unique_ptr<InventoryService> inventory_service_;
  std::unique_ptr<internal::PeerReads> peer_reads_;  // cluster mode only
  std::unique_ptr<CouponService> coupon_service_;
  std::unique_ptr<EventStoreService> event_store_service_;
  std::unique_ptr<DeadLetterService> dead_letter_service_;
  std::unique_ptr<ClusterService> cluster_service_;
  // Declared before server_: its interceptors must outlive the server.
  internal::InFlightCalls in_flight_;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex health_mu_;
  // server_'s health service while it serves; null before and after.
  grpc::HealthCheckServiceInterface* health_ ABSL_GUARDED_BY(health_mu_) = nullptr;
  bool stopped_serving_ ABSL_GUARDED_BY(health_mu_) = false;
  int port_ = 0;
  std::string advertised_addr_;  // host of grpc_addr : bound port
  bool shut_down_ = false;
};

}  // namespace surge::server

#endif  // SURGE_SERVER_APP_H_
