// surge-server: the surge gRPC service (orders, inventory, coupons, event
// log) over a RocksDB event store. See `surge-server --help`.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/allocator.h"
#include "common/cli_flags.h"
#include "common/logging.h"
#include "kafka/client_config.h"
#include "server/app.h"

ABSL_FLAG(std::string, grpc_addr, "127.0.0.1:50051",
          "host:port to serve gRPC on. Port 0 picks a free port (see --port_file). A "
          "non-loopback address requires --admin_token_file.");
ABSL_FLAG(std::string, metrics_addr, "127.0.0.1:9464",
          "host:port of the Prometheus /metrics endpoint (text format). Port 0 picks a free "
          "port (see --metrics_port_file); empty disables it.");
ABSL_FLAG(std::string, metrics_port_file, "",
          "After binding, write the metrics port to this file.");
ABSL_FLAG(std::string, data_dir, "./surge-data",
          "RocksDB data directory (event log and read models); created when missing.");
ABSL_FLAG(std::string, durability, "sync",
          "sync: fsync the log before acknowledging a command (survives power loss); async: "
          "acknowledge after the write (survives a process crash only).");
ABSL_FLAG(std::string, admin_token_file, "",
          "File holding the bearer token admin RPCs (AdjustStock, CreateCampaign, dead "
          "letters) must present as 'authorization: Bearer <token>'. Empty: admin RPCs are "
          "open, allowed only on a loopback --grpc_addr.");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate chain; enables TLS (with --tls_key).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle; when set, clients must present a certificate signed by it (mTLS).");
ABSL_FLAG(std::string, kafka_brokers, "",
          "Kafka bootstrap servers (host:port,...). Empty: run the embedded broker "
          "(librdkafka's mock cluster, in-process, memory only); its address is logged and "
          "written to <data_dir>/kafka-bootstrap for kcat and other processes.");
ABSL_FLAG(std::string, kafka_config_file, "",
          "librdkafka settings for every Kafka client of the server (needs --kafka_brokers): a "
          "properties file as kcat -F reads it (key=value lines, # comments). Plain keys apply "
          "to every client, producer.<key> and consumer.<key> to one role and win over plain "
          "keys. TLS, SASL (passwords only here, never on the command line), client.rack, "
          "tuning. Keys surge sets itself (acks, group.id, enable.auto.commit, ...) are "
          "refused; any bad key stops the server before it writes anything.");
ABSL_FLAG(int, kafka_partitions, 0,
          "Partitions of each event topic (surge.orders, surge.stock, surge.coupons). 0: 1 with "
          "the embedded broker, 6 with --kafka_brokers. With --kafka_brokers the topics must "
          "already exist with this many partitions.");
ABSL_FLAG(int, embedded_brokers, 1,
          "Brokers of the embedded Kafka cluster (ignored with --kafka_brokers), 1-9. 1 is the "
          "cheapest (one broker thread, one fetch per consumer); more give replicas and leader "
          "moves, which only fault drills need.");
ABSL_FLAG(int, kafka_fetch_wait_ms, 0,
          "How long the broker may hold a projection's empty fetch (fetch.wait.max.ms), "
          "0-1000 ms. 0: 1 with the embedded broker, which holds it in full even when data "
          "arrives (so it adds to every hop of a saga; the price is idle fetches, ~15% of a "
          "core when idle), 100 with --kafka_brokers, which answers as soon as data arrives.");
ABSL_FLAG(int, projection_retry_attempts, 5,
          "Attempts (with capped exponential backoff) before a failing message is sent to "
          "<topic>.dlt.");
ABSL_FLAG(int64_t, relay_window, 20000,
          "Most log events the relay publishes ahead of the slowest projection (bounds what "
          "a lagging consumer can lose to the embedded broker's retention).");
ABSL_FLAG(std::string, log_level, "info", "debug | info | warning | error.");
ABSL_FLAG(std::string, node_id, "node-1",
          "This node's id, written into every event ([A-Za-z0-9._:-], 1-128 bytes).");
ABSL_FLAG(int64_t, append_queue_capacity, 16384,
          "Most commands waiting for the event log's appender; more are refused with "
          "RESOURCE_EXHAUSTED (backpressure, not memory growth).");
ABSL_FLAG(int64_t, append_queue_mib, 64,
          "The same bound in MiB of estimated log bytes, so large commands (many-line "
          "orders) cannot hold gigabytes while within the count.");
ABSL_FLAG(int, max_subscriptions, 64,
          "Most concurrent EventStoreService.Subscribe streams (one thread each); more are "
          "refused with RESOURCE_EXHAUSTED.");
ABSL_FLAG(std::string, port_file, "",
          "After binding, write the gRPC port to this file (for --grpc_addr with port 0).");

ABSL_FLAG(bool, cluster, false,
          "Run as one node of a cluster on the Kafka at --kafka_brokers (required): deciders in "
          "consumer groups, state handed over through changelog topics, reads on every node. "
          "Each node needs its own --node_id and --data_dir.");
ABSL_FLAG(int, cluster_session_timeout_ms, 45000,
          "Cluster mode: how long a silent node keeps its decider partitions (Kafka "
          "session.timeout.ms), 6000-300000 (Kafka's group.min.session.timeout.ms is 6000 by "
          "default, and the mock broker refuses less). Lower moves a dead node's partitions "
          "sooner.");
ABSL_FLAG(int64_t, cluster_snapshot_bytes, 1 << 20,
          "Cluster mode: snapshot a decider partition's state into its changelog after this many "
          "bytes of changelog records (or 200 records) since its last snapshot, so that a restore "
          "reads one snapshot and a short tail instead of the whole history, and the changelog "
          "works with finite retention (it must keep about two snapshots plus this). 0: no "
          "snapshots (the changelog then needs unlimited retention).");
ABSL_FLAG(int, cluster_peer_read_timeout_ms, 1000,
          "Cluster mode: a GetCouponRequest that finds nothing on this node asks the other live "
          "nodes and waits at most this long for their answers. A rejected coupon request is kept "
          "by the read models but not by the deciders' snapshots, so a node that joined after "
          "retention dropped a partition's first records, or lost its disk, has only the "
          "refusals decided since; the others have the rest. 0: never ask them.");
ABSL_FLAG(std::string, cluster_peer_ca, "",
          "Cluster mode with TLS: PEM roots that sign the other nodes' certificates, for the "
          "reads of --cluster_peer_read_timeout_ms (and this node's --tls_cert/--tls_key are its "
          "client certificate when --tls_client_ca is set). Empty: --tls_cert itself.");
ABSL_FLAG(std::string, cluster_assignment_strategy, "range",
          "Cluster mode: the deciders' Kafka partition.assignment.strategy; every node of a "
          "cluster must use the same one. range: eager, every partition is revoked at every "
          "rebalance and taken up again (from this node's warm standby: milliseconds). "
          "cooperative-sticky: a rebalance moves only the partitions that change owner, the "
          "others are decided all through it; with librdkafka before 2.3 a node may abort or be "
          "slow to stop in a rebalance (README).");
ABSL_FLAG(std::string, ack, "log",
          "When a command is answered. log: after the local fsync. kafka: also after Kafka "
          "acknowledged its events (acks=all), so losing this node with its disk loses no "
          "acknowledged command.");
ABSL_FLAG(int, ack_timeout_ms, 10000,
          "--ack=kafka: longest a command waits for Kafka before UNAVAILABLE (it stays durable "
          "in the local log and is relayed later). --cluster: also the longest CreateCampaign "
          "waits for its coupon decider's decision before DEADLINE_EXCEEDED.");

ABSL_FLAG(int64_t, max_decision_lag, 100000,
          "Hard cap: PlaceOrder and RequestCoupon get RESOURCE_EXHAUSTED while more than this "
          "many log events are accepted but not decided yet (a guard on the backlog's memory, "
          "applied during warm-up too); 0 = no limit.");

ABSL_FLAG(int, max_decision_delay_ms, 3000,
          "Admission's time budget: PlaceOrder and RequestCoupon get RESOURCE_EXHAUSTED once the "
          "backlog would take longer than this to decide at the measured decision rate, or the "
          "oldest undecided command has waited longer (not before the pipeline has decided once "
          "since start); 0 = no limit.");

ABSL_FLAG(bool, mutex_deadlock_detection, false,
          "Abseil's lock-order checking on every Mutex acquisition, aborting the process on a "
          "potential deadlock. Debian's Abseil is built with it on; it records every acquisition "
          "in one process-wide graph under a global lock, so the server turns it off unless "
          "asked (the test suite runs the server with it on).");

namespace {

int Fail(const std::string& message) {
  SURGE_LOG(ERROR, "main") << message;
  std::fprintf(stderr, "surge-server: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // --help, --version and unknown flags (exit 2) as common/cli_flags.h says.
  surge::ParseCliFlags(
      argc, argv,
      {"surge-server",
       "orders with stock reservation and first-come coupons over gRPC (surge.v1), backed by "
       "a durable RocksDB event log, relayed to Kafka and projected into read models.\n"
       "  surge-server --data_dir=./surge-data --grpc_addr=127.0.0.1:50051",
       {"server/main.cc"}});
  surge::TuneAllocator();  // before any thread exists
  absl::SetMutexDeadlockDetectionMode(absl::GetFlag(FLAGS_mutex_deadlock_detection)
                                          ? absl::OnDeadlockCycle::kAbort
                                          : absl::OnDeadlockCycle::kIgnore);

  // Block the shutdown signals before any thread starts, so every thread
  // inherits the mask and only sigwait() below ever sees them: no work in a
  // signal handler.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);

  absl::StatusOr<surge::LogLevel> level = surge::ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Fail(absl::StrCat("--log_level: ", level.status().message()));
  surge::SetLogLevel(*level);

  surge::server::App::Options options;
  options.grpc_addr = absl::GetFlag(FLAGS_grpc_addr);
  options.metrics_addr = absl::GetFlag(FLAGS_metrics_addr);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  const std::string durability = absl::GetFlag(FLAGS_durability);
  if (durability == "sync") {
    options.durability = surge::eventstore::Durability::kSync;
  } else if (durability == "async") {
    options.durability = surge::eventstore::Durability::kAsync;
  } else {
    return Fail(absl::StrCat("--durability: must be sync or async, got '", durability, "'"));
  }
  options.admin_token_file = absl::GetFlag(FLAGS_admin_token_file);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.kafka_brokers = absl::GetFlag(FLAGS_kafka_brokers);
  if (const std::string path = absl::GetFlag(FLAGS_kafka_config_file); !path.empty()) {
    if (options.kafka_brokers.empty()) {
      return Fail(
          "--kafka_config_file needs --kafka_brokers: the embedded broker speaks plain TCP "
          "without authentication, so its clients take no settings from a file");
    }
    // Before the data dir is touched: a bad file writes nothing.
    absl::StatusOr<surge::kafka::ClientConfig> config =
        surge::kafka::LoadClientConfig(path, {.bootstrap_servers = options.kafka_brokers});
    if (!config.ok()) return Fail(absl::StrCat("--kafka_config_file: ", config.status().message()));
    SURGE_LOG(INFO, "main") << "Kafka client settings from " << path << ": " << config->Summary();
    options.kafka_producer_config = config->producer;
    options.kafka_consumer_config = config->consumer;
  }
  options.node_id = absl::GetFlag(FLAGS_node_id);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.metrics_port_file = absl::GetFlag(FLAGS_metrics_port_file);
  if (absl::GetFlag(FLAGS_kafka_partitions) < 0 || absl::GetFlag(FLAGS_kafka_partitions) > 1000) {
    return Fail("--kafka_partitions: must be between 0 (automatic) and 1000");
  }
  options.kafka_partitions = absl::GetFlag(FLAGS_kafka_partitions);
  if (absl::GetFlag(FLAGS_embedded_brokers) < 1 || absl::GetFlag(FLAGS_embedded_brokers) > 9) {
    return Fail("--embedded_brokers: must be between 1 and 9");
  }
  options.embedded_brokers = absl::GetFlag(FLAGS_embedded_brokers);
  if (absl::GetFlag(FLAGS_kafka_fetch_wait_ms) < 0 ||
      absl::GetFlag(FLAGS_kafka_fetch_wait_ms) > 1000) {
    return Fail("--kafka_fetch_wait_ms: must be between 0 (automatic) and 1000");
  }
  options.kafka_fetch_wait_ms = absl::GetFlag(FLAGS_kafka_fetch_wait_ms);
  if (absl::GetFlag(FLAGS_projection_retry_attempts) < 1) {
    return Fail("--projection_retry_attempts: must be >= 1");
  }
  options.projection_retry_attempts = absl::GetFlag(FLAGS_projection_retry_attempts);
  if (absl::GetFlag(FLAGS_relay_window) < 100) return Fail("--relay_window: must be >= 100");
  options.relay_window = static_cast<uint64_t>(absl::GetFlag(FLAGS_relay_window));
  if (absl::GetFlag(FLAGS_append_queue_capacity) < 1) {
    return Fail("--append_queue_capacity: must be >= 1");
  }
  options.append_queue_capacity = static_cast<size_t>(absl::GetFlag(FLAGS_append_queue_capacity));
  if (absl::GetFlag(FLAGS_append_queue_mib) < 1 || absl::GetFlag(FLAGS_append_queue_mib) > 65536) {
    return Fail("--append_queue_mib: must be between 1 and 65536");
  }
  options.append_queue_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_append_queue_mib)) << 20;
  if (absl::GetFlag(FLAGS_max_subscriptions) < 0) {
    return Fail("--max_subscriptions: must be >= 0");
  }
  options.max_subscriptions = static_cast<size_t>(absl::GetFlag(FLAGS_max_subscriptions));
  options.cluster = absl::GetFlag(FLAGS_cluster);
  if (options.cluster && options.kafka_brokers.empty()) {
    return Fail("--cluster needs --kafka_brokers: the nodes of a cluster share one Kafka");
  }
  const int session_timeout = absl::GetFlag(FLAGS_cluster_session_timeout_ms);
  if (session_timeout < 6000 || session_timeout > 300000) {
    return Fail("--cluster_session_timeout_ms: must be between 6000 and 300000");
  }
  options.cluster_session_timeout_ms = session_timeout;
  const int64_t snapshot_bytes = absl::GetFlag(FLAGS_cluster_snapshot_bytes);
  if (snapshot_bytes < 0) return Fail("--cluster_snapshot_bytes: must be >= 0");
  options.cluster_snapshot_bytes = static_cast<uint64_t>(snapshot_bytes);
  if (absl::GetFlag(FLAGS_cluster_peer_read_timeout_ms) < 0) {
    return Fail("--cluster_peer_read_timeout_ms: must be >= 0");
  }
  options.cluster_peer_read_timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_cluster_peer_read_timeout_ms));
  options.cluster_peer_ca_file = absl::GetFlag(FLAGS_cluster_peer_ca);
  options.cluster_assignment_strategy = absl::GetFlag(FLAGS_cluster_assignment_strategy);
  if (options.cluster_assignment_strategy != "cooperative-sticky" &&
      options.cluster_assignment_strategy != "range") {
    return Fail("--cluster_assignment_strategy: cooperative-sticky or range");
  }
  const std::string ack = absl::GetFlag(FLAGS_ack);
  if (ack == "log") {
    options.ack = surge::server::App::Options::Ack::kLog;
  } else if (ack == "kafka") {
    options.ack = surge::server::App::Options::Ack::kKafka;
  } else {
    return Fail(absl::StrCat("--ack: must be log or kafka, got '", ack, "'"));
  }
  if (absl::GetFlag(FLAGS_ack_timeout_ms) < 1) return Fail("--ack_timeout_ms: must be >= 1");
  options.ack_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_ack_timeout_ms));
  if (absl::GetFlag(FLAGS_max_decision_lag) < 0) return Fail("--max_decision_lag: must be >= 0");
  options.max_decision_lag = static_cast<uint64_t>(absl::GetFlag(FLAGS_max_decision_lag));
  if (absl::GetFlag(FLAGS_max_decision_delay_ms) < 0) {
    return Fail("--max_decision_delay_ms: must be >= 0");
  }
  options.max_decision_delay = absl::Milliseconds(absl::GetFlag(FLAGS_max_decision_delay_ms));

  SURGE_LOG(INFO, "main") << "allocator: " << surge::AllocatorName() << " ("
                          << surge::AllocatorOptions() << "); mutex deadlock detection "
                          << (absl::GetFlag(FLAGS_mutex_deadlock_detection) ? "on" : "off");
  absl::StatusOr<std::unique_ptr<surge::server::App>> app = surge::server::App::Start(options);
  if (!app.ok()) return Fail(absl::StrCat("cannot start: ", app.status().ToString()));

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  SURGE_LOG(INFO, "main") << "received " << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
                          << ", shutting down";
  (*app)->Shutdown();
  return 0;
}
