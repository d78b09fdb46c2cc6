#include "server/app.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cluster/origin.h"
#include "common/allocator.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "domain/validation.h"
#include "projections/order_saga_projection.h"
#include "projections/projection_state.h"
#include "projections/read_models.h"
#include "server/internal/admission.h"
#include "server/internal/campaign_confirmation.h"
#include "server/internal/cluster_metrics.h"
#include "server/internal/decode_error_interceptor.h"
#include "server/internal/process_metrics.h"
#include "server/internal/relay_metrics.h"

namespace surge::server {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " file ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Written under a temporary name and renamed, so a reader polling for the
// file never sees it half-written.
absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write port file ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(
    const App::Options& options) {
  if (options.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  SURGE_ASSIGN_OR_RETURN(std::string cert, ReadWholeFile(options.tls_cert_file, "TLS cert"));
  SURGE_ASSIGN_OR_RETURN(std::string key, ReadWholeFile(options.tls_key_file, "TLS key"));
  const bool mutual = !options.tls_client_ca_file.empty();
  grpc::SslServerCredentialsOptions ssl(
      mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
             : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (mutual) {
    SURGE_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                           ReadWholeFile(options.tls_client_ca_file, "TLS client CA"));
  }
  ssl.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
  return grpc::SslServerCredentials(ssl);
}

absl::Status CheckOptions(const App::Options& options) {
  SURGE_RETURN_IF_ERROR(domain::ValidateId("node_id", options.node_id));
  if (options.data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both --tls_cert and --tls_key");
  }
  if (!options.tls_client_ca_file.empty() && options.tls_cert_file.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
  }
  if (options.kafka_brokers.empty() &&
      !(options.kafka_producer_config.empty() && options.kafka_consumer_config.empty())) {
    return absl::InvalidArgumentError(
        "Kafka client settings need an external Kafka (--kafka_brokers), not the embedded one");
  }
  if (options.admin_token_file.empty() && !IsLoopbackAddress(options.grpc_addr)) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to serve on non-loopback address ", options.grpc_addr,
                     " without --admin_token_file: admin RPCs would be open to the network"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<App>> App::Start(const Options& options) {
  std::unique_ptr<App> app(new App(options));
  if (absl::Status s = app->Init(); !s.ok()) {
    app->Shutdown();  // undoes whatever part started
    return s;
  }
  return app;
}

App::~App() { Shutdown(); }

absl::Status App::Init() {
  SURGE_RETURN_IF_ERROR(CheckOptions(options_));
  std::string token;
  if (!options_.admin_token_file.empty()) {
    SURGE_ASSIGN_OR_RETURN(token, ReadAdminTokenFile(options_.admin_token_file));
  }
  auth_ = std::make_unique<AdminAuth>(std::move(token));

  eventstore::Options store_options;
  store_options.durability = options_.durability;
  store_options.extra_column_families = projections::ReadModelColumnFamilies();
  store_options.node_id = options_.node_id;
  store_options.queue_capacity = options_.append_queue_capacity;
  store_options.queue_capacity_bytes = options_.append_queue_bytes;
  std::string origin;
  if (options_.cluster || !options_.kafka_brokers.empty()) {
    // The origin names this log in the cluster (event ids, dedupe): read
    // before the store opens, written once the store has claimed the dir.
    // A single node on an external Kafka has one too, only for the relay's
    // surge-origin header (see Pipeline::Options::origin).
    SURGE_ASSIGN_OR_RETURN(origin, cluster::ReadOrMakeOrigin(options_.data_dir, options_.node_id));
    if (options_.cluster) store_options.event_id_prefix = origin;
  }
  absl::StatusOr<std::unique_ptr<eventstore::EventStore>> store =
      eventstore::EventStore::Open(store_options, options_.data_dir);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("cannot open the data dir ", options_.data_dir, ": ",
                                     store.status().message()));
  }
  store_ = *std::move(store);
  SURGE_LOG(INFO, "app") << "event store open at " << options_.data_dir << " (head position "
                         << store_->HeadPosition() << ")";

  if (options_.ack == Options::Ack::kKafka) {
    acked_store_ = std::make_unique<internal::KafkaAckedStore>(
        *store_, internal::KafkaAckedStore::Options{.timeout = options_.ack_timeout});
  }
  internal::KafkaAckedStore* acked = acked_store_.get();
  auto on_delivered = [acked](uint64_t delivered) {
    if (acked != nullptr) acked->OnDelivered(delivered);
  };
  // The asynchronous half: broker, relay, projections (one node) or relay,
  // deciders, view (a cluster node). Started before gRPC serves, so a
  // command accepted is relayed and applied without delay.
  if (options_.cluster) {
    SURGE_RETURN_IF_ERROR(cluster::WriteOriginIfAbsent(options_.data_dir, origin));
    cluster::ClusterNode::Options cluster_options;
    cluster_options.bootstrap_servers = options_.kafka_brokers;
    cluster_options.node_id = options_.node_id;
    cluster_options.origin = origin;
    cluster_options.partitions = options_.kafka_partitions > 0 ? options_.kafka_partitions : 6;
    cluster_options.session_timeout_ms = options_.cluster_session_timeout_ms;
    cluster_options.snapshot_bytes = options_.cluster_snapshot_bytes;
    cluster_options.assignment_strategy = options_.cluster_assignment_strategy;
    cluster_options.decider_batch = options_.projection_batch;
    cluster_options.on_delivered = on_delivered;
    cluster_options.producer_config = options_.kafka_producer_config;
    cluster_options.consumer_config = options_.kafka_consumer_config;
    // Like the projections: the dev broker holds an empty fetch in full.
    // emplace: a fetch.wait.max.ms from --kafka_config_file wins.
    cluster_options.consumer_config.emplace(
        "fetch.wait.max.ms",
        absl::StrCat(options_.kafka_fetch_wait_ms > 0 ? options_.kafka_fetch_wait_ms : 100));
    SURGE_ASSIGN_OR_RETURN(cluster_,
                           cluster::ClusterNode::Start(cluster_options, *store_, notifier_));
  } else {
    if (!origin.empty())
      SURGE_RETURN_IF_ERROR(cluster::WriteOriginIfAbsent(options_.data_dir, origin));
    Pipeline::Options pipeline_options;
    pipeline_options.kafka_brokers = options_.kafka_brokers;
    pipeline_options.partitions = options_.kafka_partitions > 0    ? options_.kafka_partitions
                                  : options_.kafka_brokers.empty() ? 1
                                                                   : 6;
    pipeline_options.embedded_brokers = options_.embedded_brokers;
    pipeline_options.data_dir = options_.data_dir;
    pipeline_options.retry_attempts = options_.projection_retry_attempts;
    pipeline_options.relay_window = options_.relay_window;
    pipeline_options.projection_batch = options_.projection_batch;
    pipeline_options.fetch_wait_ms = options_.kafka_fetch_wait_ms;
    pipeline_options.on_delivered = on_delivered;
    if (!options_.kafka_brokers.empty()) {
      // Another node may share these topics by mistake (no --cluster): the
      // origin tells its events from ours (projections stop on them).
      pipeline_options.origin = origin;
      pipeline_options.on_foreign_origin = [this](const std::string&) { StopServing(); };
    }
    pipeline_options.producer_config = options_.kafka_producer_config;
    pipeline_options.consumer_config = options_.kafka_consumer_config;
    SURGE_ASSIGN_OR_RETURN(pipeline_, Pipeline::Start(pipeline_options, *store_, notifier_));
  }
  {
    // Always built: its figures are metrics even with both bounds off.
    kafka::Relay* relay = cluster_ != nullptr ? &cluster_->relay() : &pipeline_->relay();
    eventstore::EventStore* store = store_.get();
    admission_ = std::make_unique<internal::Admission>(
        internal::Admission::Options{
            .max_lag_events = options_.max_decision_lag,
            .max_delay = options_.max_decision_delay,
            // A cluster node decides slower under overload than when its
            // rate was measured by more than a single node does (its view
            // re-applies every decision, its deciders write changelog
            // records): measured with bench/admission.sh at 2-3x, its
            // accepted orders' settle p99 was 3.1-3.6 s at two thirds of a
            // 3 s budget (BENCHMARKS-admission.md).
            .forecast_share = cluster_ != nullptr ? 0.5 : 2.0 / 3.0,
            // An order: stock, then the saga.
            .rounds = 2},
        [store] { return store->HeadPosition(); },
        [relay] { return relay->GetStats().low_watermark; });
  }
  if (cluster_ != nullptr && options_.cluster_peer_read_timeout > absl::ZeroDuration()) {
    std::string cert, key, peer_ca;
    if (!options_.tls_cert_file.empty()) {
      SURGE_ASSIGN_OR_RETURN(cert, ReadWholeFile(options_.tls_cert_file, "TLS cert"));
      SURGE_ASSIGN_OR_RETURN(key, ReadWholeFile(options_.tls_key_file, "TLS key"));
      if (!options_.cluster_peer_ca_file.empty()) {
        SURGE_ASSIGN_OR_RETURN(peer_ca,
                               ReadWholeFile(options_.cluster_peer_ca_file, "cluster peer CA"));
      }
    }
    internal::PeerReads::Options peer_options;
    peer_options.timeout = options_.cluster_peer_read_timeout;
    peer_options.node_id = options_.node_id;
    peer_options.credentials = internal::PeerCredentials(
        cert, key, !options_.tls_client_ca_file.empty(), peer_ca);
    peer_reads_ = std::make_unique<internal::PeerReads>(peer_options, [this] {
      // The live members other than this node, as their heartbeats say.
      std::vector<internal::PeerReads::Peer> peers;
      const v1::DescribeClusterResponse cluster = cluster_->Describe();
      for (const v1::ClusterMember& m : cluster.members()) {
        if (m.alive() && m.node_id() != options_.node_id && !m.grpc_addr().empty()) {
          peers.push_back({m.node_id(), m.grpc_addr()});
        }
      }
      return peers;
    });
  }
  SURGE_RETURN_IF_ERROR(StartMetrics());

  queries_ = std::make_unique<domain::QueryHandler>(
      *store_, notifier_, domain::QueryHandler::Options{.wait_for_unknown_keys = options_.cluster});
  domain::CommandHandler::Options command_options;
  if (options_.max_decision_lag > 0 || options_.max_decision_delay > absl::ZeroDuration()) {
    command_options.admit = [admission = admission_.get()] { return admission->Admit(); };
  }
  if (options_.cluster) {
    command_options.confirm_campaign = internal::ConfirmCampaignByItsDecider(
        *queries_, absl::ToInt64Milliseconds(options_.ack_timeout));
  }
  commands_ = std::make_unique<domain::CommandHandler>(
      acked_store_ != nullptr ? static_cast<eventstore::EventStore&>(*acked_store_) : *store_,
      command_options);
  order_service_ = std::make_unique<OrderService>(*commands_, *queries_);
  inventory_service_ = std::make_unique<InventoryService>(*commands_, *queries_, *auth_);
  coupon_service_ =
      std::make_unique<CouponService>(*commands_, *queries_, *auth_, peer_reads_.get());
  event_store_service_ = std::make_unique<EventStoreService>(
      *store_, EventStoreService::Options{.max_subscriptions = options_.max_subscriptions});
  dead_letter_service_ = std::make_unique<DeadLetterService>(
      *auth_, cluster_ != nullptr ? cluster_->dead_letters() : pipeline_->dead_letters());
  cluster_service_ = std::make_unique<ClusterService>([this] {
    if (cluster_ != nullptr) return cluster_->Describe();
    v1::DescribeClusterResponse single;
    single.set_node_id(options_.node_id);
    single.set_cluster_mode(false);
    v1::ClusterMember* me = single.add_members();
    me->set_node_id(options_.node_id);
    me->set_grpc_addr(advertised_addr_);
    me->set_alive(true);
    me->set_last_seen_unix_ms(absl::ToUnixMillis(absl::Now()));
    return single;
  });

  SURGE_RETURN_IF_ERROR(StartGrpc());
  {
    // After the gRPC server: the ticker marks the health service once the
    // pipeline is deciding.
    internal::AdmissionTicker::Options ticker_options;
    ticker_options.on_deciding = [this] {
      absl::MutexLock lock(&health_mu_);
      // A node that stopped serving (StopServing) stays NOT_SERVING.
      if (health_ != nullptr && !stopped_serving_) {
        health_->SetServingStatus(kDecidingHealthService, true);
      }
    };
    admission_ticker_ = std::make_unique<internal::AdmissionTicker>(*admission_, ticker_options);
  }
  {
    // The host of --grpc_addr with the bound port.
    const std::string& addr = options_.grpc_addr;
    const size_t colon = addr.rfind(':');
    advertised_addr_ =
        absl::StrCat(colon == std::string::npos ? addr : addr.substr(0, colon), ":", port_);
  }
  if (cluster_ != nullptr) cluster_->SetGrpcAddr(advertised_addr_);
  if (!options_.port_file.empty()) {
    SURGE_RETURN_IF_ERROR(WritePortFile(options_.port_file, port_));
  }
  SURGE_LOG(INFO, "app") << "serving surge.v1 on port " << port_ << " (grpc_addr "
                         << options_.grpc_addr << ", node " << options_.node_id << ", durability "
                         << (options_.durability == eventstore::Durability::kSync ? "sync"
                                                                                  : "async")
                         << ", tls " << (options_.tls_cert_file.empty() ? "off" : "on")
                         << (options_.tls_client_ca_file.empty() ? "" : " (mutual)")
                         << ", admin auth " << (auth_->enabled() ? "on" : "OFF") << ", kafka "
                         << (options_.kafka_brokers.empty() ? "embedded" : options_.kafka_brokers)
                         << (options_.cluster ? ", cluster mode" : "") << ", ack "
                         << (options_.ack == Options::Ack::kKafka ? "kafka" : "log") << ", metrics "
                         << (metrics_port() ? absl::StrCat("port ", metrics_port()) : "off") << ")";
  return absl::OkStatus();
}

absl::Status App::StartMetrics() {
  SURGE_ASSIGN_OR_RETURN(metrics_,
                         metrics::Metrics::Create({.listen_address = options_.metrics_addr}));
  if (!options_.metrics_port_file.empty()) {
    SURGE_RETURN_IF_ERROR(WritePortFile(options_.metrics_port_file, metrics_->port()));
  }
  RegisterMetrics();
  return absl::OkStatus();
}

void App::RegisterMetrics() {
  using metrics::Metrics;
  using Samples = std::vector<metrics::Sample>;
  metrics::Metrics* metrics = metrics_.get();
  store_->SetBatchObserver([metrics](size_t appends, absl::Duration commit) {
    metrics->RecordAppendBatch(appends, commit);
  });
  eventstore::EventStore* store = store_.get();
  metrics_->RegisterCallback(
      "surge_allocator_info",
      "The process's memory allocator and the options surge sets (value 1; see the labels).",
      Metrics::Kind::kGauge, [name = AllocatorName(), options = AllocatorOptions()] {
        return Samples{{{{"allocator", name}, {"options", options}}, 1.0}};
      });
  if (ReadAllocatorStats().has_value()) {  // jemalloc: what it counts itself
    metrics_->RegisterCallback(
        "surge_allocator_allocated_bytes", "Bytes in live allocations (the allocator's count).",
        Metrics::Kind::kGauge, [] {
          const std::optional<AllocatorStats> stats = ReadAllocatorStats();
          return Samples{{{}, stats ? static_cast<double>(stats->allocated_bytes) : 0.0}};
        });
    metrics_->RegisterCallback(
        "surge_allocator_resident_bytes",
        "Bytes of RAM the allocator holds, its caches included (the allocator's count).",
        Metrics::Kind::kGauge, [] {
          const std::optional<AllocatorStats> stats = ReadAllocatorStats();
          return Samples{{{}, stats ? static_cast<double>(stats->resident_bytes) : 0.0}};
        });
  }
  metrics_->RegisterCallback("surge_log_head_position", "Position of the last durable event.",
                             Metrics::Kind::kGauge, [store] {
                               return Samples{{{}, static_cast<double>(store->HeadPosition())}};
                             });
  // An unlabelled figure of the store's stats, read at scrape time.
  using StoreStats = eventstore::EventStore::Stats;
  auto store_metric = [metrics, store](const char* name, const char* help, Metrics::Kind kind,
                                       double (*read)(const StoreStats&)) {
    metrics->RegisterCallback(name, help, kind, [store, read] {
      return Samples{{{}, read(store->GetStats())}};
    });
  };
  store_metric("surge_eventstore_queue_depth", "Appends waiting for the appender thread.",
               Metrics::Kind::kGauge,
               [](const StoreStats& s) { return static_cast<double>(s.queue_depth); });
  store_metric("surge_eventstore_memtable_bytes",
               "RocksDB memtable bytes over all column families (soft-bounded by the store).",
               Metrics::Kind::kGauge,
               [](const StoreStats& s) { return static_cast<double>(s.memtable_bytes); });
  store_metric("surge_eventstore_block_cache_bytes",
               "RocksDB block cache bytes in use: data, index and filter blocks (bounded by the "
               "store's block cache size).",
               Metrics::Kind::kGauge,
               [](const StoreStats& s) { return static_cast<double>(s.block_cache_bytes); });
  store_metric("surge_eventstore_table_readers_bytes",
               "RocksDB SST readers' memory outside the block cache (index and filter blocks are "
               "in the cache).",
               Metrics::Kind::kGauge,
               [](const StoreStats& s) { return static_cast<double>(s.table_readers_bytes); });
  // Flush and compaction figures side by side, labelled by kind.
  auto background_metric = [metrics, store](const char* name, const char* help,
                                            uint64_t StoreStats::Background::*flush,
                                            uint64_t StoreStats::Background::*compaction) {
    metrics->RegisterCallback(name, help, Metrics::Kind::kCounter, [store, flush, compaction] {
      const StoreStats::Background b = store->GetStats().background;
      return Samples{{{{"kind", "flush"}}, static_cast<double>(b.*flush)},
                     {{{"kind", "compaction"}}, static_cast<double>(b.*compaction)}};
    });
  };
  background_metric("surge_eventstore_background_jobs_total",
                    "RocksDB background jobs finished since start, by kind (flush: a memtable "
                    "written to an SST; compaction: SSTs merged into a lower level).",
                    &StoreStats::Background::flushes, &StoreStats::Background::compactions);
  background_metric("surge_eventstore_background_written_bytes_total",
                    "Bytes RocksDB's flushes and compactions wrote since start, by kind.",
                    &StoreStats::Background::flush_bytes,
                    &StoreStats::Background::compaction_bytes);
  store_metric("surge_eventstore_compaction_cpu_seconds_total",
               "CPU seconds RocksDB's compactions used since start (each runs on one core).",
               Metrics::Kind::kCounter,
               [](const StoreStats& s) { return s.background.compaction_cpu_seconds; });
  store_metric("surge_eventstore_compaction_seconds_total",
               "Wall-clock seconds RocksDB's compactions took since start (against the CPU "
               "seconds: how long they waited for I/O or a core).",
               Metrics::Kind::kCounter,
               [](const StoreStats& s) { return s.background.compaction_seconds; });
  store_metric("surge_eventstore_write_stalls_total",
               "Flushes after which RocksDB slowed or stopped writes (too many L0 files: "
               "compaction behind).",
               Metrics::Kind::kCounter,
               [](const StoreStats& s) { return static_cast<double>(s.background.write_stalls); });
  store_metric("surge_eventstore_rejected_total", "Appends refused because the queue was full.",
               Metrics::Kind::kCounter,
               [](const StoreStats& s) { return static_cast<double>(s.rejected_queue_full); });
  store_metric("surge_eventstore_write_errors_total",
               "Batches the event store could not write (disk full, I/O error); their commands "
               "got UNAVAILABLE.",
               Metrics::Kind::kCounter,
               [](const StoreStats& s) { return static_cast<double>(s.write_errors); });
  internal::RegisterProcessMetrics(*metrics_);
  if (peer_reads_ != nullptr) {
    internal::PeerReads* peers = peer_reads_.get();
    metrics_->RegisterCallback(
        "surge_cluster_peer_reads_total",
        "GetCouponRequest calls that found nothing on this node and asked the other nodes, by "
        "result: found (a peer answered) or not_found (none had it). Steady found answers mean "
        "this node's view resumed from a snapshot and lacks older refusals (view-only rows).",
        Metrics::Kind::kCounter, [peers, node = options_.node_id] {
          const internal::PeerReads::Stats stats = peers->GetStats();
          return Samples{
              {{{"node", node}, {"result", "found"}}, static_cast<double>(stats.found)},
              {{{"node", node}, {"result", "not_found"}}, static_cast<double>(stats.not_found)}};
        });
    metrics_->RegisterCallback(
        "surge_cluster_peer_read_errors_total",
        "Calls to other nodes for those reads that failed other than NOT_FOUND (unreachable, "
        "deadline, TLS).",
        Metrics::Kind::kCounter, [peers, node = options_.node_id] {
          return Samples{{{{"node", node}}, static_cast<double>(peers->GetStats().errors)}};
        });
  }
  metrics_->RegisterCallback(
      "surge_admission_rejected_total",
      "Commands refused with RESOURCE_EXHAUSTED because decisions lagged too far behind the log "
      "(--max_decision_lag, --max_decision_delay_ms).",
      Metrics::Kind::kCounter, [this] {
        return Samples{
            {{}, static_cast<double>(admission_ != nullptr ? admission_->rejected() : 0)}};
      });
  // Admission's figures are read fresh at each scrape (Observe), so they go
  // back to zero once everything is decided, with or without new commands.
  auto admission_figure = [this](const char* name, const char* help,
                                 double (*figure)(const internal::Admission::Figures&)) {
    metrics_->RegisterCallback(name, help, Metrics::Kind::kGauge, [this, figure] {
      return Samples{{{}, admission_ != nullptr ? figure(admission_->Observe()) : 0.0}};
    });
  };
  admission_figure(
      "surge_admission_decision_delay_seconds",
      "How long the oldest accepted but undecided command has waited for its "
      "decision (0 when everything is decided).",
      [](const internal::Admission::Figures& f) { return absl::ToDoubleSeconds(f.delay); });
  admission_figure(
      "surge_admission_backlog_events",
      "Log events accepted but not decided yet (log head minus the relay's low "
      "watermark).",
      [](const internal::Admission::Figures& f) { return static_cast<double>(f.backlog_events); });
  admission_figure("surge_admission_decision_rate",
                   "Events decided per second while a backlog was queued, as admission measured "
                   "it (0 until measured; kept while idle).",
                   [](const internal::Admission::Figures& f) { return f.rate; });
  admission_figure("surge_admission_deciding",
                   "1 once the pipeline has decided something since start (warm-up over: the "
                   "time bound of --max_decision_delay_ms applies), else 0.",
                   [](const internal::Admission::Figures& f) { return f.deciding ? 1.0 : 0.0; });
  metrics_->RegisterCallback("surge_eventstore_events_total",
                             "Events committed to the log since start.", Metrics::Kind::kCounter,
                             [store] {
                               return Samples{{{}, static_cast<double>(store->GetStats().events)}};
                             });
  // Read-model figures: campaigns are few (bounded label cardinality).
  auto per_campaign = [store](int64_t (v1::Campaign::*field)() const) {
    return [store, field] {
      Samples samples;
      auto rows = store->Scan(projections::kCampaignsCf, "", 1000);
      if (!rows.ok()) return samples;
      for (const auto& [code, bytes] : *rows) {
        v1::Campaign campaign;
        if (campaign.ParseFromString(bytes)) {
          samples.push_back({{{"campaign", code}}, static_cast<double>((campaign.*field)())});
        }
      }
      return samples;
    };
  };
  metrics_->RegisterCallback("surge_coupons_issued", "Coupons issued per campaign.",
                             Metrics::Kind::kGauge, per_campaign(&v1::Campaign::issued));
  metrics_->RegisterCallback("surge_coupons_remaining", "Coupons left per campaign.",
                             Metrics::Kind::kGauge, per_campaign(&v1::Campaign::remaining));
  // The order saga keeps these counts in the same batches as the order rows:
  // exact, and three point reads per scrape.
  metrics_->RegisterCallback(
      "surge_orders", "Orders in the order read model, by status.", Metrics::Kind::kGauge, [store] {
        Samples samples;
        projections::EventStoreStateReader reader(store);
        for (const auto& [status, label] : {std::pair{v1::ORDER_STATUS_PENDING, "PENDING"},
                                            std::pair{v1::ORDER_STATUS_CONFIRMED, "CONFIRMED"},
                                            std::pair{v1::ORDER_STATUS_CANCELLED, "CANCELLED"}}) {
          absl::StatusOr<uint64_t> count = projections::ReadOrderStatusCount(reader, status);
          if (count.ok()) samples.push_back({{{"status", label}}, static_cast<double>(*count)});
        }
        return samples;
      });
  if (pipeline_ != nullptr) {
    pipeline_->RegisterMetrics(*metrics_);
  } else {
    internal::RegisterRelayMetrics(*metrics_, cluster_->relay(), *store_);
    internal::RegisterClusterMetrics(*metrics_, *cluster_);
  }
}

absl::Status App::StartGrpc() {
  SURGE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                         MakeCredentials(options_));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.grpc_addr, credentials, &port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  // Find dead peers (a Subscribe stream would otherwise hold its thread
  // forever) and let clients keep idle connections alive with pings every
  // 10 s or more, without being disconnected for it.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(in_flight_.NewInterceptorFactory());
    interceptors.push_back(internal::NewDecodeErrorInterceptorFactory());
    if (metrics_ != nullptr) interceptors.push_back(metrics_->NewGrpcInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  builder.RegisterService(order_service_.get());
  builder.RegisterService(inventory_service_.get());
  builder.RegisterService(coupon_service_.get());
  builder.RegisterService(event_store_service_.get());
  builder.RegisterService(dead_letter_service_.get());
  builder.RegisterService(cluster_service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.grpc_addr));
  }
  absl::MutexLock lock(&health_mu_);
  health_ = server_->GetHealthCheckService();
  if (health_ != nullptr) {
    health_->SetServingStatus(!stopped_serving_);
    // Readiness for a sale's opening burst: SERVING once the pipeline has
    // decided since start (the admission ticker sets it).
    health_->SetServingStatus(kDecidingHealthService, false);
  }
  return absl::OkStatus();
}

void App::StopServing() {
  absl::MutexLock lock(&health_mu_);
  stopped_serving_ = true;
  if (health_ != nullptr) health_->SetServingStatus(false);
}

void App::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  admission_ticker_.reset();  // it may set a health status, and reads the relay
  const absl::Time deadline = absl::Now() + options_.shutdown_grace;
  if (server_ != nullptr) {
    SURGE_LOG(INFO, "app") << "shutting down";
    StopServing();
  }
  // A call waiting for settlement or following the log would hold the gRPC
  // shutdown for the whole grace period: answer / end them first.
  if (queries_ != nullptr) queries_->DrainWaits();
  if (event_store_service_ != nullptr) event_store_service_->StopSubscriptions();
  if (server_ != nullptr) {
    // Let the calls in progress finish (appends waiting for their fsync),
    // then stop at once: gRPC's own deadline would also wait for idle client
    // connections, which may never close by themselves. Calls that arrive
    // in between are cancelled; their request_id makes a retry safe.
    if (!in_flight_.WaitUntilIdle(deadline)) {
      SURGE_LOG(WARNING, "app") << in_flight_.count()
                                << " calls still in progress at the shutdown deadline: "
                                   "cancelling them";
    }
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_->Wait();
  }
  if (event_store_service_ != nullptr &&
      !event_store_service_->WaitForSubscriptions(deadline + absl::Seconds(5))) {
    SURGE_LOG(WARNING, "app") << "Subscribe streams still running at shutdown";
  }

  // Metrics first: its scrape callbacks read the pipeline and the store.
  if (store_ != nullptr) store_->SetBatchObserver(nullptr);
  metrics_.reset();
  // Projections stop consuming, the relay flushes, the broker goes (or:
  // the deciders leave their groups, the relay flushes).
  pipeline_.reset();
  cluster_.reset();

  {
    absl::MutexLock lock(&health_mu_);
    health_ = nullptr;
  }
  server_.reset();
  dead_letter_service_.reset();
  event_store_service_.reset();
  coupon_service_.reset();
  peer_reads_.reset();  // after the server: its calls' callbacks are done
  inventory_service_.reset();
  order_service_.reset();
  queries_.reset();
  commands_.reset();
  cluster_service_.reset();
  acked_store_.reset();
  // Drains the append queue: every accepted append is committed and answered.
  store_.reset();
  if (port_ != 0) {
    SURGE_LOG(INFO, "app") << "stopped";
  }
}

}  // namespace surge::server
