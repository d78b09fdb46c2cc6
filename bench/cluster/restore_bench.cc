// restore-bench: how long a cluster::Decider takes to restore decider state
// from its changelog, per 100k keys (issue 12, "Measured").
//
// For each --keys total it starts an in-process kafka::EmbeddedBroker (one
// broker, --partitions partitions), creates surge.coupons.changelog, and
// writes a chain of cluster.ChangelogBatch records to every partition
// (record k: base_offset k, next_offset k+1, --rows_per_record StateWrite
// rows each, coupon-shaped rows: rm_coupon_requests -> a serialized
// v1::CouponRequest, rm_coupon_holdings -> an 8-byte count), keys spread
// evenly over the partitions. Then, --repeats times, a fresh
// cluster::Decider for surge.coupons (its own consumer group, session
// timeout 2000 ms) joins, is assigned every partition, restores them, and
// the figures are its own GetStats(): restore_seconds_sum, restored_keys,
// restored_records (the time excludes the group join; the wall time from
// Start() until every partition is restored is reported apart).
//
// The mock broker keeps only about 5 MiB per partition and silently drops
// older data: every partition's changelog is kept under --max_partition_mib
// (the run refuses larger ones) and the low watermark is checked to be 0.
//
//   restore-bench --keys=100000,300000 --partitions=6 --repeats=3 --json=out.json
//
// --history=1,10,50 (issue 20): restore seconds against the length of the
// history behind the SAME live state, with snapshots on (the Decider's
// default Options). For each multiplier m, on a fresh in-process broker
// (surge.coupons with one partition), a real Decider "a" decides a flash
// sale: a campaign of --history_quantity coupons, that many requests of
// distinct users (all issued: the live state), then m x
// --history_base_rejected requests of new users, each with
// --history_pad bytes added to its user id (all rejected: SOLD_OUT; they
// are history, view-only rows in the changelog, not state). Requests go in
// rounds of --history_round, each decided before the next is sent (the mock
// drops a partition's oldest messages past ~5 MiB, the input's as well).
// Then the partition is taken over --history_repeats times by a cold node
// (a fresh store, no standby: restores from the changelog, i.e. the latest
// snapshot and its tail) and as often by a node whose View mirrored the
// changelog all along (its warm standby), alternately, each joining the
// group before the previous owner Stop()s. Figures: the new owner's
// GetStats() (restore_seconds_sum, restores, restored_records,
// restored_snapshot_bytes, from snapshot / standby, restored_keys).
//
//   restore-bench --history=1,10,50 --json=history.json
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/cluster.pb.h"
#include "cluster/decider.h"
#include "cluster/view.h"
#include "common/status_macros.h"
#include "eventstore/event_store.h"
#include "kafka/embedded_broker.h"
#include "kafka/internal/config.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"
#include "projections/coupon_projection.h"
#include "projections/read_models.h"
#include "surge/v1/surge.pb.h"

ABSL_FLAG(std::string, keys, "100000,300000", "total keys of decider state, comma-separated runs");
ABSL_FLAG(int, partitions, 6, "partitions of surge.coupons and its changelog");
ABSL_FLAG(std::string, kafka_brokers, "",
          "use this Kafka (e.g. a fresh surge-kafka-dev --partitions=P, which creates "
          "surge.coupons.changelog) instead of an in-process mock; one --keys entry only");
ABSL_FLAG(int, brokers, 1, "brokers of the in-process mock cluster (replication factor = brokers)");
ABSL_FLAG(int, rows_per_record, 500, "StateWrite rows per changelog record");
ABSL_FLAG(int, session_timeout_ms, 6000,
          "the decider's session timeout; keep it above 3000: the mock broker holds the first "
          "join of a group 3 s and expires members silent for a session timeout meanwhile");
ABSL_FLAG(int, repeats, 3, "restores per key count (each a fresh decider and consumer group)");
ABSL_FLAG(double, max_partition_mib, 4.5,
          "refuse a run whose changelog exceeds this per partition (the mock keeps ~5 MiB)");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(120), "bound on one restore (join included)");
ABSL_FLAG(std::string, json, "", "also write the figures as JSON to this file");
ABSL_FLAG(std::string, history, "",
          "history mode (issue 20): comma-separated multipliers of --history_base_rejected "
          "rejected requests behind the same live state, e.g. 1,10,50 (replaces --keys)");
ABSL_FLAG(int, history_quantity, 1000, "history mode: the campaign's coupons (all issued)");
ABSL_FLAG(int, history_base_rejected, 5000, "history mode: rejected requests at multiplier 1");
ABSL_FLAG(int, history_pad, 1000, "history mode: bytes added to a rejected request's user id");
ABSL_FLAG(int, history_round, 2000,
          "history mode: requests per round; each round is decided before the next is sent");
ABSL_FLAG(int, history_repeats, 3, "history mode: takeovers of each kind (cold, standby)");
ABSL_FLAG(std::string, assignment_strategy, "cooperative-sticky",
          "history mode: the deciders' partition.assignment.strategy (the server's default)");
ABSL_FLAG(std::string, kafka_debug, "",
          "librdkafka debug contexts of the decider's consumer (e.g. cgrp)");

namespace surge::bench {
namespace {

namespace k = kafka::internal;

struct Restore {
  double seconds = 0;       // Decider's restore_seconds_sum (all partitions)
  double wall_seconds = 0;  // Start() until every partition restored (join included)
  uint64_t keys = 0;
  uint64_t records = 0;
};

struct Run {
  int64_t keys = 0;
  int64_t records = 0;
  double max_partition_mib = 0;
  double total_mib = 0;
  std::vector<Restore> restores;
};

std::string EncodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

// One coupon decision's rows: the request row and the user's holding.
void AddRows(cluster::ChangelogBatch& record, int partition, int64_t i) {
  const std::string code = absl::StrCat("SALE-", partition);
  const std::string user = absl::StrCat("u", i);
  if (i % 2 == 0) {
    v1::CouponRequest row;
    row.set_request_id(absl::StrCat("bench-c", partition, "-", i));
    row.set_user_id(user);
    row.set_code(code);
    row.set_status(v1::COUPON_REQUEST_STATUS_ISSUED);
    row.set_coupon_id(absl::StrCat(code, "-", i / 2 + 1));
    row.set_updated_position(1000 + i);
    cluster::StateWrite* w = record.add_writes();
    w->set_cf(projections::kCouponRequestsCf);
    w->set_key(row.request_id());
    w->set_value(row.SerializeAsString());
  } else {
    cluster::StateWrite* w = record.add_writes();
    w->set_cf(projections::kCouponHoldingsCf);
    w->set_key(absl::StrCat(code, std::string(1, '\0'), user));
    w->set_value(EncodeU64(1));
  }
}

absl::Status Produce(const std::string& bootstrap, int partitions, int64_t keys, int rows,
                     Run* run) {
  SURGE_ASSIGN_OR_RETURN(k::ConfHandle conf, k::MakeConf({{"bootstrap.servers", bootstrap},
                                                          {"acks", "all"},
                                                          {"enable.idempotence", "true"},
                                                          {"linger.ms", "5"},
                                                          {"message.max.bytes", "8000000"}}));
  SURGE_ASSIGN_OR_RETURN(k::ClientHandle producer,
                         k::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  const std::string topic = kafka::ChangelogTopic(kafka::kCouponsTopic);
  std::vector<double> bytes(partitions, 0);
  for (int p = 0; p < partitions; ++p) {
    const int64_t n = keys / partitions + (p < keys % partitions ? 1 : 0);
    int64_t offset = 0;
    for (int64_t i = 0; i < n; i += rows, ++offset) {
      cluster::ChangelogBatch record;
      record.set_epoch(1);
      record.set_node_id("bench-writer");
      record.set_base_offset(offset);
      record.set_next_offset(offset + 1);
      record.set_written_unix_ms(absl::ToUnixMillis(absl::Now()));
      for (int64_t j = i; j < std::min(n, i + rows); ++j) AddRows(record, p, j);
      const std::string value = record.SerializeAsString();
      bytes[p] += value.size();
      const std::string key = absl::StrCat("SALE-", p);
      while (true) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(p),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          return absl::InternalError(absl::StrCat("produce: ", rd_kafka_err2str(err)));
        }
        rd_kafka_poll(producer.get(), 50);
      }
      rd_kafka_poll(producer.get(), 0);
      ++run->records;
    }
  }
  if (rd_kafka_flush(producer.get(), 60000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_outq_len(producer.get()) != 0) {
    return absl::DeadlineExceededError("changelog records not all acknowledged in 60 s");
  }
  for (double b : bytes) {
    run->max_partition_mib = std::max(run->max_partition_mib, b / (1 << 20));
    run->total_mib += b / (1 << 20);
  }
  if (run->max_partition_mib > absl::GetFlag(FLAGS_max_partition_mib)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%.2f MiB in one changelog partition: over --max_partition_mib (the mock broker keeps "
        "~5 MiB per partition); use more --partitions",
        run->max_partition_mib));
  }
  // Nothing dropped: every partition still starts at offset 0.
  for (int p = 0; p < partitions; ++p) {
    int64_t low = -1, high = -1;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(producer.get(), topic.c_str(), p, &low, &high, 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || low != 0) {
      return absl::FailedPreconditionError(absl::StrCat(topic, "/", p, ": watermarks ", low, "..",
                                                        high, " (", rd_kafka_err2str(err), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Restore> RestoreOnce(const std::string& bootstrap, int partitions, int64_t keys,
                                    int repeat, const std::filesystem::path& dir) {
  eventstore::Options store_options;
  store_options.durability = eventstore::Durability::kAsync;
  store_options.extra_column_families = projections::ReadModelColumnFamilies();
  const std::filesystem::path data = dir / absl::StrCat("store-", keys, "-", repeat);
  SURGE_ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventStore> store,
                         eventstore::EventStore::Open(store_options, data.string()));
  projections::CouponProjection coupons;
  cluster::Decider::Options options;
  options.bootstrap_servers = bootstrap;
  options.topic = kafka::kCouponsTopic;
  options.node_id = absl::StrCat("restore-", keys, "-", repeat);
  options.origin = options.node_id + "~00";
  options.group_id = absl::StrCat("restore-bench-", keys, "-", repeat);
  options.session_timeout_ms = absl::GetFlag(FLAGS_session_timeout_ms);
  if (const std::string d = absl::GetFlag(FLAGS_kafka_debug); !d.empty()) {
    options.consumer_config["debug"] = d;
  }
  SURGE_ASSIGN_OR_RETURN(std::unique_ptr<cluster::Decider> decider,
                         cluster::Decider::Create(options, coupons, *store));
  const absl::Time start = absl::Now();
  SURGE_RETURN_IF_ERROR(decider->Start());
  const absl::Time deadline = start + absl::GetFlag(FLAGS_timeout);
  cluster::Decider::Stats stats;
  while (true) {
    stats = decider->GetStats();
    if (stats.restores >= static_cast<uint64_t>(partitions) &&
        decider->owned().size() == static_cast<size_t>(partitions)) {
      break;
    }
    if (absl::Now() > deadline) {
      decider->Stop();
      return absl::DeadlineExceededError(
          absl::StrCat("restored ", stats.restores, " of ", partitions, " partitions in time"));
    }
    absl::SleepFor(absl::Milliseconds(5));  // polling a condition, bounded above
  }
  Restore r;
  r.wall_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  r.seconds = stats.restore_seconds_sum;
  r.keys = stats.restored_keys;
  r.records = stats.restored_records;
  decider->Stop();
  decider.reset();
  store.reset();
  std::filesystem::remove_all(data);
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ------------------------------------------------------------ history mode --

constexpr char kHistoryOrigin[] = "client~0000000000000001";
constexpr char kHistoryCode[] = "C";

v1::Event HistoryCampaign(int64_t quantity) {
  v1::Event e;
  e.set_stream_id(absl::StrCat("campaign-", kHistoryCode));
  e.mutable_campaign_created()->set_code(kHistoryCode);
  e.mutable_campaign_created()->set_total_quantity(quantity);
  e.mutable_campaign_created()->set_per_user_limit(1);
  return e;
}

v1::Event HistoryRequest(int64_t user, size_t pad) {
  v1::Event e;
  e.set_stream_id(absl::StrCat("coupon-", kHistoryCode));
  v1::CouponRequested* r = e.mutable_coupon_requested();
  r->set_request_id(absl::StrCat("r", user));
  r->set_user_id(absl::StrCat("u", user, std::string(pad, '.')));
  r->set_code(kHistoryCode);
  return e;
}

// Produces inputs as a node's relay would (the position, origin and
// previous-position headers), acknowledged together.
class HistoryInput {
 public:
  static absl::StatusOr<HistoryInput> Create(const std::string& bootstrap) {
    SURGE_ASSIGN_OR_RETURN(k::ConfHandle conf,
                           k::MakeConf({{"bootstrap.servers", bootstrap},
                                        {"acks", "all"},
                                        {"linger.ms", "5"},
                                        {"message.max.bytes", "8000000"}}));
    SURGE_ASSIGN_OR_RETURN(k::ClientHandle producer,
                           k::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
    HistoryInput out;
    out.producer_ = std::move(producer);
    return out;
  }
  // Positions first.., each with its predecessor as the previous position.
  absl::Status Send(const std::vector<v1::Event>& events, uint64_t first) {
    uint64_t position = first;
    for (v1::Event event : events) {
      event.set_position(position);
      event.set_event_id(absl::StrCat("client:", position));
      const std::string value = event.SerializeAsString();
      bytes_ += value.size();
      rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
      const std::string pos = absl::StrCat(position);
      const std::string before = absl::StrCat(position - 1);
      rd_kafka_header_add(headers, kafka::kPositionHeader, -1, pos.data(), pos.size());
      rd_kafka_header_add(headers, kafka::kOriginHeader, -1, kHistoryOrigin, -1);
      rd_kafka_header_add(headers, kafka::kPrevPositionHeader, -1, before.data(), before.size());
      while (true) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            producer_.get(), RD_KAFKA_V_TOPIC(kafka::kCouponsTopic), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(kHistoryCode, sizeof(kHistoryCode) - 1),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_headers_destroy(headers);
          return absl::InternalError(absl::StrCat("produce: ", rd_kafka_err2str(err)));
        }
        rd_kafka_poll(producer_.get(), 50);
      }
      rd_kafka_poll(producer_.get(), 0);
      ++position;
    }
    if (rd_kafka_flush(producer_.get(), 60000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_outq_len(producer_.get()) != 0) {
      return absl::DeadlineExceededError("inputs not all acknowledged in 60 s");
    }
    return absl::OkStatus();
  }
  std::pair<int64_t, int64_t> Watermarks(const std::string& topic) {
    int64_t low = -1, high = -1;
    rd_kafka_query_watermark_offsets(producer_.get(), topic.c_str(), 0, &low, &high, 10000);
    return {low, high};
  }
  double bytes() const { return bytes_; }

 private:
  HistoryInput() = default;
  k::ClientHandle producer_;
  double bytes_ = 0;
};

struct Takeover {
  std::string kind;  // "cold" | "standby"
  double seconds = 0;       // restore_seconds_sum / restores
  double wall_seconds = 0;  // previous owner's Stop() until the new one owns the partition
  cluster::Decider::Stats stats;
};

struct History {
  int multiplier = 0;
  int64_t requests = 0;  // issued + rejected
  int64_t rejected = 0;
  double input_mib = 0;       // serialized input events sent
  double decide_seconds = 0;  // sending and deciding them all
  cluster::Decider::Stats writer;  // the deciding node's stats before the takeovers
  uint64_t state_bytes = 0;        // its partition's state (as a snapshot would hold it)
  uint64_t snapshot_bytes = 0;     // its latest snapshot
  std::pair<int64_t, int64_t> changelog{-1, -1};  // watermarks [low, high)
  std::pair<int64_t, int64_t> input{-1, -1};
  std::vector<Takeover> takeovers;
};

class HistoryNode {
 public:
  // A node's store, and optionally its View (a warm standby of every
  // changelog partition).
  static absl::StatusOr<std::unique_ptr<HistoryNode>> Open(const std::filesystem::path& dir,
                                                           const std::string& bootstrap,
                                                           bool with_view) {
    auto node = std::unique_ptr<HistoryNode>(new HistoryNode());
    eventstore::Options store_options;
    store_options.durability = eventstore::Durability::kAsync;
    store_options.extra_column_families = projections::ReadModelColumnFamilies();
    SURGE_ASSIGN_OR_RETURN(node->store, eventstore::EventStore::Open(store_options, dir.string()));
    if (with_view) {
      cluster::View::Options view_options;
      view_options.bootstrap_servers = bootstrap;
      view_options.node_id = "standby";
      view_options.origin = "standby~00";
      view_options.deciders = {{"coupons", kafka::kCouponsTopic}};
      view_options.partitions = 1;
      SURGE_ASSIGN_OR_RETURN(node->view, cluster::View::Create(view_options, *node->store));
      SURGE_RETURN_IF_ERROR(node->view->Start());
    }
    return node;
  }
  absl::StatusOr<std::unique_ptr<cluster::Decider>> MakeDecider(const std::string& bootstrap,
                                                                const std::string& node_id) {
    cluster::Decider::Options options;  // the defaults: snapshots on
    options.bootstrap_servers = bootstrap;
    options.topic = kafka::kCouponsTopic;
    options.node_id = node_id;
    options.origin = node_id + "~00";
    options.group_id = "history-bench";
    options.session_timeout_ms = absl::GetFlag(FLAGS_session_timeout_ms);
    options.assignment_strategy = absl::GetFlag(FLAGS_assignment_strategy);
    if (view != nullptr) {
      const cluster::View* v = view.get();
      options.standby = [v](int32_t partition) {
        return v->Warm(kafka::ChangelogTopic(kafka::kCouponsTopic), partition);
      };
    }
    return cluster::Decider::Create(options, coupons, *store);
  }

  projections::CouponProjection coupons;
  std::unique_ptr<eventstore::EventStore> store;
  std::unique_ptr<cluster::View> view;  // destroyed before the store

 private:
  HistoryNode() = default;
};

bool AwaitCondition(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_timeout);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));  // polling a condition, bounded above
  }
  return done();
}

absl::StatusOr<History> RunHistory(int multiplier, const std::filesystem::path& dir) {
  const int quantity = absl::GetFlag(FLAGS_history_quantity);
  const int64_t rejected = static_cast<int64_t>(multiplier) * absl::GetFlag(FLAGS_history_base_rejected);
  const size_t pad = static_cast<size_t>(absl::GetFlag(FLAGS_history_pad));
  const int round = std::max(1, absl::GetFlag(FLAGS_history_round));
  const int repeats = std::max(1, absl::GetFlag(FLAGS_history_repeats));
  const std::string changelog = kafka::ChangelogTopic(kafka::kCouponsTopic);

  kafka::EmbeddedBroker::Options broker_options;
  broker_options.brokers = 1;
  broker_options.replication_factor = 1;
  broker_options.partitions = 1;
  SURGE_ASSIGN_OR_RETURN(std::unique_ptr<kafka::EmbeddedBroker> broker,
                         kafka::EmbeddedBroker::Start(broker_options));
  const std::string bootstrap = broker->bootstrap_servers();
  SURGE_RETURN_IF_ERROR(broker->CreateTopic(changelog, 1));

  History h;
  h.multiplier = multiplier;
  h.rejected = rejected;
  h.requests = quantity + rejected;
  const std::filesystem::path base = dir / absl::StrCat("history-", multiplier);
  // The standby node's View mirrors the changelog from the start.
  SURGE_ASSIGN_OR_RETURN(std::unique_ptr<HistoryNode> standby,
                         HistoryNode::Open(base / "standby", bootstrap, /*with_view=*/true));
  SURGE_ASSIGN_OR_RETURN(std::unique_ptr<HistoryNode> writer,
                         HistoryNode::Open(base / "writer", bootstrap, /*with_view=*/false));
  SURGE_ASSIGN_OR_RETURN(std::unique_ptr<cluster::Decider> owner,
                         writer->MakeDecider(bootstrap, "writer"));
  SURGE_RETURN_IF_ERROR(owner->Start());
  if (!AwaitCondition([&] { return owner->owned().size() == 1; })) {
    return absl::DeadlineExceededError("the writer was never assigned the partition");
  }
  SURGE_ASSIGN_OR_RETURN(HistoryInput input, HistoryInput::Create(bootstrap));
  const absl::Time t0 = absl::Now();
  SURGE_RETURN_IF_ERROR(input.Send({HistoryCampaign(quantity)}, 1));
  uint64_t sent = 1;
  for (int64_t first = 0; first < h.requests; first += round) {
    std::vector<v1::Event> events;
    for (int64_t u = first; u < std::min(h.requests, first + round); ++u) {
      events.push_back(HistoryRequest(u, u < quantity ? 0 : pad));
    }
    SURGE_RETURN_IF_ERROR(input.Send(events, sent + 1));
    sent += events.size();
    if (!AwaitCondition([&] { return owner->GetStats().applied == sent; })) {
      return absl::DeadlineExceededError(
          absl::StrCat("the writer decided ", owner->GetStats().applied, " of ", sent));
    }
  }
  h.decide_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  h.input_mib = input.bytes() / (1 << 20);
  h.writer = owner->GetStats();
  for (const cluster::Decider::OwnedPartition& p : owner->owned()) {
    h.state_bytes = p.state_bytes;
    h.snapshot_bytes = p.snapshot_bytes;
  }
  h.changelog = input.Watermarks(changelog);
  h.input = input.Watermarks(kafka::kCouponsTopic);
  std::cerr << absl::StrFormat(
      "restore-bench: history x%d: %d requests (%d rejected, %.1f MiB of input) decided in "
      "%.1f s; %d changelog records written, %d snapshots (%d bytes); changelog offsets "
      "%d..%d kept; state %d keys, %d bytes\n",
      multiplier, h.requests, h.rejected, h.input_mib, h.decide_seconds,
      h.writer.changelog_records, h.writer.snapshots, h.writer.snapshot_bytes, h.changelog.first,
      h.changelog.second, h.writer.state_keys, h.state_bytes);

  // Takeovers, alternately cold (a fresh node) and warm (the standby node).
  std::unique_ptr<HistoryNode> owner_node = std::move(writer);
  for (int i = 0; i < 2 * repeats; ++i) {
    const bool warm = i % 2 == 1;
    std::unique_ptr<HistoryNode> next_node;
    if (warm) {
      next_node = std::move(standby);
      // The standby has read every record the owner wrote.
      const int64_t reflected = static_cast<int64_t>(sent);
      if (!AwaitCondition([&] {
            auto w = next_node->view->Warm(changelog, 0);
            return w.has_value() && w->state.next_offset() >= reflected;
          })) {
        return absl::DeadlineExceededError("the standby's view never caught up");
      }
    } else {
      SURGE_ASSIGN_OR_RETURN(next_node, HistoryNode::Open(base / absl::StrCat("cold-", i), bootstrap,
                                                          /*with_view=*/false));
    }
    SURGE_ASSIGN_OR_RETURN(std::unique_ptr<cluster::Decider> next,
                           next_node->MakeDecider(bootstrap, absl::StrCat(warm ? "warm-" : "cold-", i)));
    SURGE_RETURN_IF_ERROR(next->Start());
    // Let it join first, as a live node would be: the group then hands the
    // partition over in one rebalance when the owner leaves.
    absl::SleepFor(absl::Seconds(1));
    const absl::Time stop = absl::Now();
    owner->Stop();
    if (!AwaitCondition([&] {
          return next->owned().size() == 1 && next->GetStats().restores >= 1;
        })) {
      return absl::DeadlineExceededError(absl::StrCat("takeover ", i, " never restored"));
    }
    Takeover t;
    t.kind = warm ? "standby" : "cold";
    t.wall_seconds = absl::ToDoubleSeconds(absl::Now() - stop);
    t.stats = next->GetStats();
    t.seconds = t.stats.restore_seconds_sum / static_cast<double>(t.stats.restores);
    if (t.stats.blocked_partitions != 0) {
      return absl::DataLossError(absl::StrCat("takeover ", i, ": the partition is blocked"));
    }
    std::cerr << absl::StrFormat(
        "restore-bench:   %-7s takeover: restore %.3f s (%d restore(s), %d from snapshot, %d "
        "from standby; %d records, %d record bytes, %d snapshot bytes; %d keys); owned %.2f s "
        "after the owner's Stop()\n",
        t.kind, t.seconds, t.stats.restores, t.stats.restores_from_snapshot,
        t.stats.restores_from_standby, t.stats.restored_records, t.stats.restored_record_bytes,
        t.stats.restored_snapshot_bytes, t.stats.restored_keys, t.wall_seconds);
    h.takeovers.push_back(t);
    // The previous owner's node: the standby node comes back for the next
    // warm takeover (its View kept running); a cold node is dropped.
    owner.reset();
    if (owner_node->view != nullptr) {
      standby = std::move(owner_node);
    } else {
      owner_node.reset();
    }
    owner = std::move(next);
    owner_node = std::move(next_node);
  }
  owner->Stop();
  owner.reset();
  owner_node.reset();
  standby.reset();
  broker.reset();
  std::filesystem::remove_all(base);
  return h;
}

std::string StatsJson(const cluster::Decider::Stats& s) {
  return absl::StrFormat(
      "{\"restores\": %d, \"restores_from_snapshot\": %d, \"restores_from_standby\": %d, "
      "\"restored_records\": %d, \"restored_record_bytes\": %d, \"restored_snapshot_bytes\": %d, "
      "\"restored_keys\": %d, \"restore_seconds_sum\": %.6f, \"changelog_records\": %d, "
      "\"snapshots\": %d, \"snapshot_bytes\": %d, \"snapshot_failures\": %d, \"applied\": %d, "
      "\"state_keys\": %d, \"blocked_partitions\": %d}",
      s.restores, s.restores_from_snapshot, s.restores_from_standby, s.restored_records,
      s.restored_record_bytes, s.restored_snapshot_bytes, s.restored_keys, s.restore_seconds_sum,
      s.changelog_records, s.snapshots, s.snapshot_bytes, s.snapshot_failures, s.applied,
      s.state_keys, s.blocked_partitions);
}

int HistoryMain() {
  std::vector<int> multipliers;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_history), ',', absl::SkipEmpty())) {
    int m = 0;
    if (!absl::SimpleAtoi(s, &m) || m < 1) {
      std::cerr << "restore-bench: bad --history entry " << s << "\n";
      return 1;
    }
    multipliers.push_back(m);
  }
  char tmpl[] = "/tmp/restore-bench.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::filesystem::path dir(tmpl);
  std::vector<History> histories;
  int rc = 0;
  for (int m : multipliers) {
    absl::StatusOr<History> h = RunHistory(m, dir);
    if (!h.ok()) {
      std::cerr << "restore-bench: history x" << m << ": " << h.status() << "\n";
      rc = 1;
      break;
    }
    histories.push_back(*std::move(h));
  }
  std::filesystem::remove_all(dir);

  std::printf("%-8s %-9s %-10s %-12s %-8s %-22s %-22s %s\n", "history", "requests", "input MiB",
              "changelog", "kind", "restore s (min/med/max)", "records / snap bytes", "keys");
  std::string json = absl::StrFormat(
      "{\"mode\": \"history\", \"partitions\": 1, \"quantity\": %d, \"base_rejected\": %d, "
      "\"pad\": %d, \"round\": %d, \"session_timeout_ms\": %d, \"assignment_strategy\": \"%s\", "
      "\"histories\": [",
      absl::GetFlag(FLAGS_history_quantity), absl::GetFlag(FLAGS_history_base_rejected),
      absl::GetFlag(FLAGS_history_pad), absl::GetFlag(FLAGS_history_round),
      absl::GetFlag(FLAGS_session_timeout_ms), absl::GetFlag(FLAGS_assignment_strategy));
  for (size_t i = 0; i < histories.size(); ++i) {
    const History& h = histories[i];
    for (const char* kind : {"cold", "standby"}) {
      std::vector<double> secs;
      uint64_t records = 0, snap = 0, keys = 0;
      for (const Takeover& t : h.takeovers) {
        if (t.kind != kind) continue;
        secs.push_back(t.seconds);
        records = std::max<uint64_t>(records, t.stats.restored_records);
        snap = std::max<uint64_t>(snap, t.stats.restored_snapshot_bytes);
        keys = t.stats.restored_keys;
      }
      if (secs.empty()) continue;
      std::printf("x%-7d %-9d %-10.1f %5d..%-5d %-8s %.3f / %.3f / %.3f    %5d / %-12d %d\n",
                  h.multiplier, h.requests, h.input_mib, h.changelog.first, h.changelog.second,
                  kind, *std::min_element(secs.begin(), secs.end()), Median(secs),
                  *std::max_element(secs.begin(), secs.end()), records, snap, keys);
    }
    std::vector<std::string> parts;
    for (const Takeover& t : h.takeovers) {
      parts.push_back(absl::StrFormat("{\"kind\": \"%s\", \"seconds\": %.6f, \"wall_seconds\": %.3f, "
                                      "\"stats\": %s}",
                                      t.kind, t.seconds, t.wall_seconds, StatsJson(t.stats)));
    }
    json += absl::StrFormat(
        "%s{\"multiplier\": %d, \"requests\": %d, \"rejected\": %d, \"input_mib\": %.3f, "
        "\"decide_seconds\": %.3f, \"state_bytes\": %d, \"snapshot_bytes\": %d, "
        "\"changelog_low\": %d, \"changelog_high\": %d, \"input_low\": %d, \"input_high\": %d, "
        "\"writer\": %s, \"takeovers\": [%s]}",
        i == 0 ? "" : ", ", h.multiplier, h.requests, h.rejected, h.input_mib, h.decide_seconds,
        h.state_bytes, h.snapshot_bytes, h.changelog.first, h.changelog.second, h.input.first,
        h.input.second, StatsJson(h.writer), absl::StrJoin(parts, ", "));
  }
  json += "]}\n";
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream out(path);
    out << json;
    if (!out) {
      std::cerr << "restore-bench: cannot write " << path << "\n";
      return 1;
    }
  }
  return rc;
}

int Main() {
  if (!absl::GetFlag(FLAGS_history).empty()) return HistoryMain();
  const int partitions = absl::GetFlag(FLAGS_partitions);
  const int rows = absl::GetFlag(FLAGS_rows_per_record);
  const int repeats = absl::GetFlag(FLAGS_repeats);
  std::vector<int64_t> key_counts;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_keys), ',', absl::SkipEmpty())) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(s, &n) || n < 1) {
      std::cerr << "restore-bench: bad --keys entry " << s << "\n";
      return 1;
    }
    key_counts.push_back(n);
  }
  if (!absl::GetFlag(FLAGS_kafka_brokers).empty() && key_counts.size() != 1) {
    std::cerr << "restore-bench: with --kafka_brokers, one --keys entry per (fresh) broker\n";
    return 1;
  }
  if (partitions < 1 || rows < 1 || repeats < 1 || key_counts.empty()) {
    std::cerr << "restore-bench: --partitions, --rows_per_record, --repeats must be >= 1\n";
    return 1;
  }
  char tmpl[] = "/tmp/restore-bench.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::filesystem::path dir(tmpl);
  std::vector<Run> runs;
  int rc = 0;
  for (int64_t keys : key_counts) {
    kafka::EmbeddedBroker::Options broker_options;
    broker_options.brokers = absl::GetFlag(FLAGS_brokers);
    broker_options.replication_factor = absl::GetFlag(FLAGS_brokers);
    broker_options.partitions = partitions;
    std::unique_ptr<kafka::EmbeddedBroker> broker;
    std::string bootstrap = absl::GetFlag(FLAGS_kafka_brokers);
    absl::Status s;
    if (bootstrap.empty()) {
      auto started = kafka::EmbeddedBroker::Start(broker_options);
      if (!started.ok()) {
        std::cerr << "restore-bench: broker: " << started.status() << "\n";
        rc = 1;
        break;
      }
      broker = *std::move(started);
      bootstrap = broker->bootstrap_servers();
      s = broker->CreateTopic(kafka::ChangelogTopic(kafka::kCouponsTopic), partitions);
    }
    Run run;
    run.keys = keys;
    if (s.ok()) s = Produce(bootstrap, partitions, keys, rows, &run);
    if (!s.ok()) {
      std::cerr << "restore-bench: " << keys << " keys: " << s << "\n";
      rc = 1;
      break;
    }
    std::cerr << absl::StrFormat(
        "restore-bench: %d keys in %d changelog records over %d partitions (%.2f MiB, at most "
        "%.2f MiB per partition)\n",
        keys, run.records, partitions, run.total_mib, run.max_partition_mib);
    for (int r = 0; r < repeats; ++r) {
      absl::StatusOr<Restore> restore = RestoreOnce(bootstrap, partitions, keys, r, dir);
      if (!restore.ok()) {
        std::cerr << "restore-bench: restore: " << restore.status() << "\n";
        rc = 1;
        break;
      }
      if (restore->keys != static_cast<uint64_t>(keys)) {
        std::cerr << "restore-bench: restored " << restore->keys << " keys, expected " << keys
                  << "\n";
        rc = 1;
      }
      std::cerr << absl::StrFormat(
          "restore-bench:   restore %d: %.3f s (%d keys, %d records; %.2f s from Start)\n", r + 1,
          restore->seconds, restore->keys, restore->records, restore->wall_seconds);
      run.restores.push_back(*restore);
    }
    runs.push_back(std::move(run));
    if (rc != 0) break;
  }
  std::filesystem::remove_all(dir);

  std::printf("%-8s %-8s %-9s %-10s %-26s %s\n", "keys", "records", "MiB/part", "restores",
              "seconds (min/median/max)", "s per 100k keys (median)");
  std::string json = "{\"partitions\": " + absl::StrCat(partitions) +
                     ", \"rows_per_record\": " + absl::StrCat(rows) + ", \"runs\": [";
  for (size_t i = 0; i < runs.size(); ++i) {
    const Run& run = runs[i];
    std::vector<double> secs;
    std::vector<std::string> parts;
    for (const Restore& r : run.restores) {
      secs.push_back(r.seconds);
      parts.push_back(absl::StrFormat(
          "{\"seconds\": %.6f, \"wall_seconds\": %.3f, \"keys\": %d, \"records\": %d}", r.seconds,
          r.wall_seconds, r.keys, r.records));
    }
    if (secs.empty()) continue;
    const double median = Median(secs);
    const double per100k = median / (static_cast<double>(run.keys) / 100000.0);
    std::printf("%-8d %-8d %-9.2f %-10zu %.3f / %.3f / %.3f         %.3f\n", run.keys, run.records,
                run.max_partition_mib, secs.size(), *std::min_element(secs.begin(), secs.end()),
                median, *std::max_element(secs.begin(), secs.end()), per100k);
    json += absl::StrFormat(
        "%s{\"keys\": %d, \"records\": %d, \"max_partition_mib\": %.3f, \"total_mib\": %.3f, "
        "\"median_seconds\": %.6f, \"seconds_per_100k_keys\": %.6f, \"restores\": [%s]}",
        i == 0 ? "" : ", ", run.keys, run.records, run.max_partition_mib, run.total_mib, median,
        per100k, absl::StrJoin(parts, ", "));
  }
  json += "]}\n";
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream out(path);
    out << json;
    if (!out) {
      std::cerr << "restore-bench: cannot write " << path << "\n";
      return 1;
    }
  }
  return rc;
}

}  // namespace
}  // namespace surge::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return surge::bench::Main();
}
