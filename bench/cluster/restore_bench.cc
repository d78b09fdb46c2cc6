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
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
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

int Main() {
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
