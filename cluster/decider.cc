#include "cluster/decider.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cluster/partition_state.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/thread_name.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"
#include "projections/internal/kafka_dead_letter_publisher.h"
#include "projections/internal/kafka_message.h"
#include "projections/read_models.h"
#include "surge/v1/surge.pb.h"

namespace surge::cluster {
namespace {

using kafka::internal::ClientHandle;
using kafka::internal::MessageHandle;
using kafka::internal::TopicPartitionListHandle;

constexpr char kComponent[] = "cluster";

int Millis(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 1 << 30));
}

size_t Bucket(double seconds) {
  const auto& b = Decider::kRestoreSecondsBounds;
  return static_cast<size_t>(std::lower_bound(b.begin(), b.end(), seconds) - b.begin());
}

// Where a produced message went; filled by its delivery report.
struct Delivery {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
  int64_t offset = -1;
};

// Delivery report: the message's opaque points at its Delivery.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  if (msg->_private == nullptr) return;
  auto* delivery = static_cast<Delivery*>(msg->_private);
  delivery->err = msg->err;
  delivery->offset = msg->offset;
}

// Produces values[i] (partition, bytes) for every i in `todo` to the
// changelog and waits up to `timeout` for their delivery reports.
std::vector<Delivery> ProduceChangelog(rd_kafka_t* producer, const std::string& topic,
                                       const std::vector<std::pair<int32_t, std::string>>& values,
                                       const std::vector<size_t>& todo, absl::Duration timeout) {
  std::vector<Delivery> results(values.size());
  for (size_t i : todo) {
    const std::string key = absl::StrCat(values[i].first);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(values[i].first), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(values[i].second.data()), values[i].second.size()),
        RD_KAFKA_V_OPAQUE(&results[i]), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) results[i].err = err;
  }
  rd_kafka_flush(producer, Millis(timeout));
  bool unfinished = false;
  for (size_t i : todo) unfinished |= results[i].err == RD_KAFKA_RESP_ERR__IN_PROGRESS;
  if (unfinished) {
    // A message still in flight comes back through the purge as failed,
    // before `results` goes out of scope.
    rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer, 0);
  }
  return results;
}

}  // namespace

struct Decider::Kafka {
  ClientHandle consumer;   // the group member
  ClientHandle restorer;   // reads changelog partitions (no group)
  ClientHandle changelog;  // produces changelog records
  std::unique_ptr<projections::internal::KafkaDeadLetterPublisher> dead_letters;
  std::string changelog_topic;
};

struct Decider::Owned {
  PartitionState state;
  int64_t epoch = 0;
  bool blocked = false;  // no complete snapshot or chain left: not decided
  // Changelog offset of the first chunk of the latest complete snapshot
  // (written here or restored from); -1: none. Every record carries it.
  int64_t snapshot_at = -1;
  int64_t snapshot_unix_ms = 0;  // when that snapshot was written
  uint64_t snapshot_bytes = 0;   // its size in the changelog
  // Records (and their bytes) written or restored after that snapshot.
  uint64_t records_since_snapshot = 0;
  uint64_t bytes_since_snapshot = 0;
  uint64_t snapshots_written = 0;  // by this owner: part of the next id
  // Commit time (unix ms) of the last input decided and finished here;
  // when gained, the time it was gained.
  int64_t last_event_unix_ms = absl::ToUnixMillis(absl::Now());
  int64_t deciding_event_unix_ms = 0;  // the same, decided but maybe in flight
  // When its last record was written (or it was gained, or an idle
  // snapshot was last tried): Options::snapshot_when_idle counts from it.
  absl::Time last_record_at = absl::Now();
};

namespace {

// What a restore read of one partition.
struct RestoreCounts {
  uint64_t records = 0;  // after the snapshot used (all, without one)
  uint64_t record_bytes = 0;
  uint64_t chunks = 0;  // snapshot chunks read (of any snapshot)
  uint64_t chunk_bytes = 0;
  int64_t snapshot_at_input = 0;
};

}  // namespace

namespace {

void RebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t* partitions, void* opaque);

}  // namespace

absl::StatusOr<std::unique_ptr<Decider>> Decider::Create(const Options& options,
                                                         projections::Projection& projection,
                                                         eventstore::EventStore& store) {
  if (options.bootstrap_servers.empty() || options.topic.empty() || options.node_id.empty() ||
      options.origin.empty()) {
    return absl::InvalidArgumentError("Decider needs bootstrap_servers, topic, node_id, origin");
  }
  if (options.max_batch == 0 || options.session_timeout_ms < 1000) {
    return absl::InvalidArgumentError("Decider: max_batch > 0 and session_timeout_ms >= 1000");
  }
  const std::string name = projection.name();
  auto kafka = std::make_unique<Kafka>();
  kafka->changelog_topic = kafka::ChangelogTopic(options.topic);
  std::unique_ptr<Decider> decider(new Decider(options, name, projection, store, std::move(kafka)));
  Kafka& k = *decider->kafka_;

  const std::string group = options.group_id.empty() ? "surge-decider-" + name : options.group_id;
  std::map<std::string, std::string> consumer = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", group},
      {"client.id", absl::StrCat("surge-", options.node_id, "-decider-", name)},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"partition.assignment.strategy", options.assignment_strategy},
      {"session.timeout.ms", absl::StrCat(options.session_timeout_ms)},
      {"heartbeat.interval.ms", absl::StrCat(std::max(100, options.session_timeout_ms / 6))},
      {"fetch.wait.max.ms", "5"},
      {"queued.max.messages.kbytes", "8192"},
  };
  for (const auto& [key, value] : options.consumer_config) consumer[key] = value;
  SURGE_ASSIGN_OR_RETURN(kafka::internal::ConfHandle conf, kafka::internal::MakeConf(consumer));
  rd_kafka_conf_set_rebalance_cb(conf.get(), RebalanceTrampoline);
  rd_kafka_conf_set_opaque(conf.get(), decider.get());
  SURGE_ASSIGN_OR_RETURN(k.consumer,
                         kafka::internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  rd_kafka_poll_set_consumer(k.consumer.get());

  std::map<std::string, std::string> restorer = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", absl::StrCat("surge-restore-", options.node_id, "-", name)},
      {"client.id", absl::StrCat("surge-", options.node_id, "-restore-", name)},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},
      {"fetch.wait.max.ms", "5"},
  };
  // All but the fetch wait: a restore reads to the partition's end, where a
  // long wait (the server's 100 ms) would add to every restore.
  for (const auto& [key, value] : options.consumer_config) {
    if (key != "fetch.wait.max.ms") restorer[key] = value;
  }
  SURGE_ASSIGN_OR_RETURN(conf, kafka::internal::MakeConf(restorer));
  SURGE_ASSIGN_OR_RETURN(k.restorer,
                         kafka::internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  rd_kafka_poll_set_consumer(k.restorer.get());

  std::map<std::string, std::string> producer = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", absl::StrCat("surge-", options.node_id, "-changelog-", name)},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "1"},
      {"message.max.bytes", "8000000"},
  };
  for (const auto& [key, value] : options.producer_config) producer[key] = value;
  SURGE_ASSIGN_OR_RETURN(conf, kafka::internal::MakeConf(producer));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), OnDelivery);
  SURGE_ASSIGN_OR_RETURN(k.changelog,
                         kafka::internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  SURGE_ASSIGN_OR_RETURN(
      k.dead_letters, projections::internal::KafkaDeadLetterPublisher::Create(
                          options.bootstrap_servers, options.producer_config, absl::Seconds(10)));
  return decider;
}

Decider::Decider(const Options& options, std::string name, projections::Projection& projection,
                 eventstore::EventStore& store, std::unique_ptr<Kafka> kafka)
    : options_(options),
      name_(std::move(name)),
      projection_(projection),
      store_(store),
      kafka_(std::move(kafka)) {}

Decider::~Decider() { Stop(); }

absl::StatusOr<Decider::Result> Decider::ReplayDeadLetter(const std::string& id) {
  absl::MutexLock lock(&replay_mu_);
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                         store_.Get(projections::kDeadLettersCf, id));
  if (!bytes.has_value()) return absl::NotFoundError(absl::StrCat("no dead letter ", id));
  v1::DeadLetter row;
  if (!row.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("unreadable dead letter ", id));
  }
  if (row.original_topic() != options_.topic) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dead letter ", id, " is of ", row.original_topic(), ", not of ", options_.topic));
  }
  if (row.replayed()) return Result{false, "already replayed"};

  // A producer of its own: replays are rare, and the decider's producers
  // belong to its thread.
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options_.bootstrap_servers},
      {"client.id", absl::StrCat("surge-", options_.node_id, "-replay-", name_)},
      {"acks", "all"},
      {"linger.ms", "0"},
      {"message.timeout.ms", absl::StrCat(Millis(options_.changelog_timeout))},
  };
  for (const auto& [key, value] : options_.producer_config) settings[key] = value;
  SURGE_ASSIGN_OR_RETURN(kafka::internal::ConfHandle conf, kafka::internal::MakeConf(settings));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), OnDelivery);
  SURGE_ASSIGN_OR_RETURN(ClientHandle producer,
                         kafka::internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  kafka::internal::HeadersHandle headers(rd_kafka_headers_new(1));
  rd_kafka_header_add(headers.get(), kafka::kReplayOfHeader, -1, id.data(),
                      static_cast<ssize_t>(id.size()));
  Delivery result;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer.get(), RD_KAFKA_V_TOPIC(row.original_topic().c_str()),
      RD_KAFKA_V_PARTITION(row.original_partition()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(row.key().data(), row.key().size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(row.value().data()), row.value().size()),
      RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_OPAQUE(&result), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::internal::KafkaStatus(err, absl::StrCat("replay ", id));
  }
  headers.release();  // librdkafka owns them now
  // message.timeout.ms bounds the delivery, so the report comes within it;
  // a message still in the queue after the flush is purged (its report
  // fires then) before `result` goes out of scope.
  rd_kafka_flush(producer.get(), Millis(options_.changelog_timeout) + 1000);
  if (result.err == RD_KAFKA_RESP_ERR__IN_PROGRESS) {
    rd_kafka_purge(producer.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer.get(), 0);
    return absl::UnavailableError(absl::StrCat("replay ", id, ": Kafka did not acknowledge it"));
  }
  if (result.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::internal::KafkaStatus(result.err, absl::StrCat("replay ", id));
  }

  row.set_replayed(true);
  eventstore::AppendRequest mark;
  mark.extra_writes.push_back({projections::kDeadLettersCf, id, row.SerializeAsString()});
  SURGE_RETURN_IF_ERROR(store_.Append(std::move(mark)).status());
  SURGE_LOG(INFO, kComponent) << name_ << ": dead letter " << id << " handed back to "
                              << row.original_topic() << "/" << row.original_partition();
  return Result{true,
                absl::StrCat("handed back to ", row.original_topic(), "/", row.original_partition(),
                             ": the partition's owner decides it once")};
}

absl::Status Decider::Start() {
  TopicPartitionListHandle topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), options_.topic.c_str(), RD_KAFKA_PARTITION_UA);
  SURGE_RETURN_IF_ERROR(kafka::internal::KafkaStatus(
      rd_kafka_subscribe(kafka_->consumer.get(), topics.get()), "subscribe " + options_.topic));
  SURGE_LOG(INFO, kComponent) << name_ << ": joining group for " << options_.topic
                              << " (session timeout " << options_.session_timeout_ms << " ms, "
                              << options_.assignment_strategy << " assignment)";
  thread_ = std::thread([this] {
    SetCurrentThreadName("surge-d-" + name_);
    Run();
  });
  return absl::OkStatus();
}

void Decider::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

std::vector<Decider::OwnedPartition> Decider::owned() const {
  absl::MutexLock lock(&mu_);
  return owned_;
}

Decider::Stats Decider::GetStats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = stats_;
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (const auto& [partition, reflected] : reflected_) {
    const int64_t next = reflected.next_offset;
    stats.input_offsets += static_cast<uint64_t>(next);
    int64_t low = 0;
    int64_t high = 0;
    // Cached by the consumer's fetches: no request, safe from any thread.
    if (rd_kafka_get_watermark_offsets(kafka_->consumer.get(), options_.topic.c_str(), partition,
                                       &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        high > next) {
      stats.input_lag_messages += static_cast<uint64_t>(high - next);
      stats.input_lag_seconds =
          std::max(stats.input_lag_seconds,
                   static_cast<double>(std::max<int64_t>(0, now_ms - reflected.last_event_unix_ms)) /
                       1000.0);
    }
  }
  return stats;
}

bool Decider::Backoff(int attempt) {
  absl::Duration wait = options_.backoff_min;
  for (int i = 1; i < attempt && wait < options_.backoff_max; ++i) wait *= 2;
  return !stop_.WaitForNotificationWithTimeout(std::min(wait, options_.backoff_max));
}

void Decider::PublishOwned() {
  std::vector<OwnedPartition> owned;
  uint64_t keys = 0;
  uint64_t blocked = 0;
  for (const auto& [partition, o] : partitions_) {
    owned.push_back({partition, o->epoch, o->blocked, o->snapshot_unix_ms, o->snapshot_bytes,
                     o->state.bytes()});
    keys += o->state.size();
    blocked += o->blocked ? 1 : 0;
  }
  {
    absl::MutexLock lock(&mu_);
    owned_ = std::move(owned);
    stats_.state_keys = keys;
    stats_.blocked_partitions = blocked;
  }
  PublishReflected();
}

void Decider::PublishReflected() {
  std::map<int32_t, Reflected> reflected;
  for (const auto& [partition, o] : partitions_) {
    // Blocked partitions have an alert of their own.
    if (!o->blocked) reflected[partition] = {o->state.next_offset(), o->last_event_unix_ms};
  }
  absl::MutexLock lock(&mu_);
  reflected_ = std::move(reflected);
}

absl::Status Decider::ReadChangelog(const std::map<int32_t, std::pair<int64_t, int64_t>>& ranges,
                                    const std::function<void(int32_t, int64_t, const ChangelogBatch&,
                                                             size_t)>& on_record) {
  if (ranges.empty()) return absl::OkStatus();
  rd_kafka_t* rk = kafka_->restorer.get();
  const std::string& topic = kafka_->changelog_topic;
  TopicPartitionListHandle list(
      rd_kafka_topic_partition_list_new(static_cast<int>(ranges.size())));
  std::map<int32_t, int64_t> reading;  // partition -> offset of the last record to read
  std::map<int32_t, int64_t> last;     // partition -> offset of the last record read
  for (const auto& [partition, range] : ranges) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = range.first;
    reading[partition] = range.second;
    last[partition] = range.first - 1;
  }
  // Every partition at once: their fetches share requests, so gaining N
  // partitions costs about the longest changelog, not the sum of them.
  SURGE_RETURN_IF_ERROR(
      kafka::internal::KafkaStatus(rd_kafka_assign(rk, list.get()), "assign changelog"));
  // A deadline on progress, not on the whole read: a long changelog on a
  // loaded machine is slow, not stuck (the dev broker answers a fetch with
  // one produce batch, i.e. one record, per partition: ~100 records/s under
  // load), and starting over would never finish it.
  absl::Time deadline = absl::Now() + options_.restore_attempt_timeout;
  absl::Status status;
  while (!reading.empty()) {
    if (stopping()) {
      status = absl::CancelledError("stopping");
      break;
    }
    if (absl::Now() > deadline) {
      std::vector<std::string> behind;
      for (const auto& [p, target] : reading) {
        behind.push_back(absl::StrCat(p, " at ", last[p] + 1, " of ", target + 1));
      }
      status = absl::DeadlineExceededError(absl::StrCat(
          "reading ", topic, ": no record for ",
          absl::FormatDuration(options_.restore_attempt_timeout), "; partitions ",
          absl::StrJoin(behind, ", ")));
      break;
    }
    MessageHandle msg(rd_kafka_consumer_poll(rk, 100));
    if (msg == nullptr) continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      SURGE_LOG(WARNING, kComponent) << name_ << ": restore: " << rd_kafka_err2name(msg->err)
                                     << ": " << rd_kafka_message_errstr(msg.get());
      continue;
    }
    auto it = reading.find(msg->partition);
    if (it == reading.end() || msg->offset <= last[msg->partition]) continue;
    last[msg->partition] = msg->offset;
    deadline = absl::Now() + options_.restore_attempt_timeout;
    ChangelogBatch record;
    if (msg->payload == nullptr ||
        !record.ParseFromArray(msg->payload, static_cast<int>(msg->len))) {
      SURGE_LOG(ERROR, kComponent) << name_ << ": unreadable changelog record " << topic << "/"
                                   << msg->partition << "@" << msg->offset << ", skipped";
    } else {
      on_record(msg->partition, msg->offset, record, msg->len);
    }
    if (msg->offset >= it->second) reading.erase(it);
  }
  rd_kafka_assign(rk, nullptr);
  return status;
}

std::map<int32_t, std::unique_ptr<Decider::Owned>> Decider::Restore(
    const std::vector<int32_t>& partitions) {
  rd_kafka_t* rk = kafka_->restorer.get();
  const std::string& topic = kafka_->changelog_topic;
  for (int attempt = 1;; ++attempt) {
    const absl::Time start = absl::Now();
    std::map<int32_t, std::unique_ptr<Owned>> out;
    std::map<int32_t, std::pair<int64_t, int64_t>> watermarks;
    absl::Status status;
    for (int32_t partition : partitions) {
      out[partition] = std::make_unique<Owned>();
      int64_t low = 0;
      int64_t high = 0;
      status = kafka::internal::KafkaStatus(
          rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high,
                                           Millis(options_.restore_attempt_timeout)),
          absl::StrCat("watermarks of ", topic, "/", partition));
      if (!status.ok()) break;
      if (high > low) watermarks[partition] = {low, high};
    }
    // 0. A warm standby this node kept (its view's copy) needs only the
    // records written since it was copied.
    std::map<int32_t, int64_t> warm_from;  // partition -> changelog offset
    if (status.ok() && options_.standby) {
      for (int32_t p : partitions) {
        std::optional<WarmState> warm = options_.standby(p);
        if (!warm.has_value()) continue;
        auto w = watermarks.find(p);
        const int64_t low = w == watermarks.end() ? 0 : w->second.first;
        const int64_t high = w == watermarks.end() ? warm->changelog_next : w->second.second;
        // Records it never read were deleted, or the changelog is not the
        // one it read (shorter): restore from the changelog instead.
        if (warm->changelog_next < low || warm->changelog_next > high) continue;
        Owned& owned = *out[p];
        owned.state = std::move(warm->state);
        owned.snapshot_at = warm->snapshot_at;
        owned.snapshot_unix_ms = warm->snapshot_unix_ms;
        owned.snapshot_bytes = warm->snapshot_bytes;
        warm_from[p] = warm->changelog_next;
      }
    }
    // 1. Each partition's last records say where its latest complete
    // snapshot starts (snapshot_at). The one of the highest epoch is the
    // current owner's: a zombie's late record may come last, pointing at
    // a snapshot older than records the owner wrote before it.
    std::map<int32_t, int64_t> pointer;
    if (status.ok()) {
      constexpr int64_t kTail = 20;
      std::map<int32_t, std::pair<int64_t, int64_t>> tails;
      for (const auto& [p, w] : watermarks) {
        if (warm_from.count(p) == 0) tails[p] = {std::max(w.first, w.second - kTail), w.second - 1};
      }
      std::map<int32_t, int64_t> pointer_epoch;
      // A snapshot complete within the tail counts as a pointer to itself:
      // no record points at the last one yet (an idle snapshot is the last
      // thing written; an interval snapshot until the next batch).
      std::map<int32_t, SnapshotAssembler> tail_snapshots;
      status = ReadChangelog(
          tails, [&](int32_t p, int64_t offset, const ChangelogBatch& record, size_t) {
            int64_t at = -1;
            if (record.has_snapshot()) {
              SnapshotAssembler& assembler = tail_snapshots[p];
              if (!assembler.Offer(record, offset)) return;
              assembler.TakeComplete();
              at = assembler.complete_offset();
            } else if (record.has_snapshot_at()) {
              at = record.snapshot_at();
            } else {
              return;
            }
            auto [it, fresh] = pointer_epoch.try_emplace(p, record.epoch());
            if (fresh || record.epoch() >= it->second) {
              it->second = record.epoch();
              pointer[p] = at;
            }
          });
    }
    // 2. From there (or from the first record retention left) to the end:
    // the snapshot, then the records after it, by the chain rule.
    std::map<int32_t, SnapshotAssembler> assemblers;
    std::map<int32_t, RestoreCounts> counts;
    auto apply = [&](int32_t p, int64_t offset, const ChangelogBatch& record, size_t bytes) {
      Owned& owned = *out[p];
      RestoreCounts& c = counts[p];
      if (!record.has_snapshot()) {
        ++c.records;
        c.record_bytes += bytes;
        owned.state.Apply(record);
        return;
      }
      ++c.chunks;
      c.chunk_bytes += bytes;
      owned.state.Observe(record);
      SnapshotAssembler& assembler = assemblers[p];
      if (!assembler.Offer(record, offset)) return;
      std::vector<ChangelogBatch> chunks = assembler.TakeComplete();
      if (owned.state.ApplySnapshot(chunks)) {
        owned.snapshot_at = assembler.complete_offset();
        owned.snapshot_unix_ms = chunks.front().written_unix_ms();
        c.snapshot_at_input = owned.state.next_offset();
        c.records = 0;
        c.record_bytes = 0;
      }
    };
    std::map<int32_t, std::pair<int64_t, int64_t>> ranges;
    if (status.ok()) {
      for (const auto& [p, w] : watermarks) {
        auto warm = warm_from.find(p);
        if (warm != warm_from.end()) {
          if (warm->second < w.second) ranges[p] = {warm->second, w.second - 1};
          continue;
        }
        auto it = pointer.find(p);
        const int64_t from = it != pointer.end() && it->second >= w.first ? it->second : w.first;
        ranges[p] = {from, w.second - 1};
      }
      status = ReadChangelog(ranges, apply);
    }
    // 3. A partition whose read from a snapshot found none (a pointer that
    // lied) is read from offset 0 when the changelog still starts there.
    if (status.ok()) {
      std::map<int32_t, std::pair<int64_t, int64_t>> again;
      for (const auto& [p, range] : ranges) {
        if (out[p]->state.next_offset() == 0 && range.first > 0 && watermarks[p].first == 0 &&
            warm_from.count(p) == 0) {
          again[p] = {0, range.second};
          out[p] = std::make_unique<Owned>();
          assemblers.erase(p);
          counts.erase(p);
        }
      }
      status = ReadChangelog(again, apply);
    }
    if (status.ok()) {
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
      absl::MutexLock lock(&mu_);
      for (auto& [partition, owned] : out) {
        const RestoreCounts& c = counts[partition];
        if (watermarks.count(partition) > 0 && owned->state.next_offset() == 0) {
          // The changelog has records, but neither a complete snapshot nor
          // a chain from offset 0 is left in it (retention deleted them):
          // the state would be incomplete, and deciding on it could issue a
          // coupon past the quantity or take stock twice. Refuse the
          // partition instead: its commands wait (and admission refuses new
          // ones) until an operator gives the changelog its records back.
          // Snapshots (Options::snapshot_interval_*) keep a complete one
          // within the retention the README asks for.
          const auto& w = watermarks[partition];
          SURGE_LOG(ERROR, kComponent)
              << name_ << ": " << topic << "/" << partition << " holds offsets " << w.first
              << ".." << w.second - 1
              << " but no complete snapshot and no chain from offset 0 (retention deleted "
                 "them), so its state cannot be restored; "
              << options_.topic << "/" << partition << " will not be decided here";
          owned->blocked = true;
          continue;
        }
        owned->epoch = owned->state.max_epoch() + 1;
        owned->records_since_snapshot = c.records;
        owned->bytes_since_snapshot = c.record_bytes;
        owned->snapshot_bytes = c.chunk_bytes;
        const bool warm = warm_from.count(partition) > 0;
        SURGE_LOG(INFO, kComponent)
            << name_ << ": restored " << options_.topic << "/" << partition << " from "
            << (warm ? std::string("this node's warm standby and ")
                : owned->snapshot_at >= 0 && c.chunks > 0
                    ? absl::StrCat("a snapshot at input offset ", c.snapshot_at_input, " (",
                                   c.chunks, " chunk(s), ", c.chunk_bytes, " bytes) and ")
                    : std::string())
            << c.records << " changelog records (" << owned->state.size()
            << " keys, input offset " << owned->state.next_offset() << ") in "
            << absl::StrFormat("%.3f", seconds) << " s with " << partitions.size() - 1
            << " other partition(s); epoch " << owned->epoch;
        ++stats_.restores;
        RestoreSource source = kChangelog;
        if (warm) {
          ++stats_.restores_from_standby;
          source = kStandby;
        } else if (owned->snapshot_at >= 0 && c.chunks > 0) {
          ++stats_.restores_from_snapshot;
          source = kSnapshot;
        }
        ++stats_.restore_seconds_by_source[source].counts[Bucket(seconds)];
        stats_.restore_seconds_by_source[source].sum += seconds;
        stats_.restored_records += c.records;
        stats_.restored_record_bytes += c.record_bytes;
        stats_.restored_snapshot_bytes += c.chunk_bytes;
        stats_.restored_keys += owned->state.size();
        ++stats_.restore_seconds[Bucket(seconds)];
        stats_.restore_seconds_sum += seconds;
      }
      return out;
    }
    if (stopping()) return {};
    SURGE_LOG(WARNING, kComponent) << name_ << ": restore of " << options_.topic << " partitions ["
                                   << absl::StrJoin(partitions, ",") << "] failed (attempt "
                                   << attempt << "), retrying: " << status;
    {
      absl::MutexLock lock(&mu_);
      ++stats_.retries;
    }
    if (!Backoff(attempt)) return {};
  }
}

void Decider::OnAssign(std::vector<int32_t> partitions, bool incremental) {
  if (incremental && partitions.empty()) {
    // The cooperative protocol's second round (and every member's share of
    // a rebalance that moves nothing to it): acknowledged, not counted.
    TopicPartitionListHandle none(rd_kafka_topic_partition_list_new(0));
    if (rd_kafka_error_t* error = rd_kafka_incremental_assign(kafka_->consumer.get(), none.get())) {
      rd_kafka_error_destroy(error);
    }
    return;
  }
  std::sort(partitions.begin(), partitions.end());
  TopicPartitionListHandle list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  std::map<int32_t, std::unique_ptr<Owned>> restored = Restore(partitions);
  if (restored.size() != partitions.size()) {
    // Stopping: take nothing. The cooperative protocol still needs the
    // assignment acknowledged; leaving the group then hands it back.
    if (incremental) {
      if (rd_kafka_error_t* error = rd_kafka_incremental_assign(kafka_->consumer.get(), list.get())) {
        rd_kafka_error_destroy(error);
      }
    }
    return;
  }
  for (int32_t p : partitions) {
    std::unique_ptr<Owned> owned = std::move(restored[p]);
    if (!owned->blocked) {  // a blocked partition stays owned but is not consumed
      const int64_t next = owned->state.next_offset();
      rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset =
          next > 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    partitions_[p] = std::move(owned);
  }
  rd_kafka_t* rk = kafka_->consumer.get();
  if (incremental) {
    // Cooperative protocol: the partitions kept are still assigned and
    // were decided all through the rebalance; only these are added.
    if (rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, list.get())) {
      SURGE_LOG(ERROR, kComponent) << name_ << ": incremental assign failed: "
                                   << rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    }
  } else if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.get());
             err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    SURGE_LOG(ERROR, kComponent) << name_ << ": assign failed: " << rd_kafka_err2name(err);
  }
  SURGE_LOG(INFO, kComponent) << name_ << ": gained " << options_.topic << " partitions ["
                              << absl::StrJoin(partitions, ",") << "]; owning "
                              << partitions_.size();
  {
    absl::MutexLock lock(&mu_);
    ++stats_.rebalances;
  }
  PublishOwned();
  if (options_.on_ownership_changed) options_.on_ownership_changed();
}

void Decider::OnRevoke(const std::vector<int32_t>& revoked, bool incremental) {
  rd_kafka_t* rk = kafka_->consumer.get();
  if (incremental && revoked.empty()) return;
  std::vector<int32_t> lost;
  if (incremental) {
    // Cooperative protocol: only these move; the others keep their state
    // and go on being decided.
    TopicPartitionListHandle list(
        rd_kafka_topic_partition_list_new(static_cast<int>(revoked.size())));
    for (int32_t p : revoked) {
      auto it = partitions_.find(p);
      if (it == partitions_.end()) continue;
      if (!it->second->blocked) {
        rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p);
      }
      lost.push_back(p);
      partitions_.erase(it);
    }
    if (list->cnt > 0) {
      if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, list.get())) {
        SURGE_LOG(ERROR, kComponent) << name_ << ": incremental unassign failed: "
                                     << rd_kafka_error_string(error);
        rd_kafka_error_destroy(error);
      }
    }
  } else {
    for (const auto& [p, unused] : partitions_) lost.push_back(p);
    partitions_.clear();
    rd_kafka_assign(rk, nullptr);
  }
  SURGE_LOG(INFO, kComponent) << name_ << ": lost " << options_.topic << " partitions ["
                              << absl::StrJoin(lost, ",") << "]; owning " << partitions_.size();
  {
    absl::MutexLock lock(&mu_);
    ++stats_.rebalances;
  }
  PublishOwned();
  if (options_.on_ownership_changed) options_.on_ownership_changed();
}

namespace {

void RebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* decider = static_cast<Decider*>(opaque);
  (void)rk;
  decider->HandleRebalance(err, partitions);
}

}  // namespace

void Decider::Run() {
  rd_kafka_t* rk = kafka_->consumer.get();
  const int poll_ms = Millis(options_.poll_timeout);
  std::vector<projections::ConsumedMessage> batch;
  while (!stopping()) {
    batch.clear();
    // With a batch in flight, only what is there already: finishing it must
    // not wait for the poll timeout.
    for (int timeout = in_flight_ ? 0 : poll_ms; batch.size() < options_.max_batch; timeout = 0) {
      MessageHandle msg(rd_kafka_consumer_poll(rk, timeout));
      if (msg == nullptr) break;
      if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        batch.push_back(projections::internal::ToConsumed(msg.get()));
        continue;
      }
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      SURGE_LOG(WARNING, kComponent) << name_ << ": consumer: " << rd_kafka_err2name(msg->err)
                                     << ": " << rd_kafka_message_errstr(msg.get());
    }
    // Pipelined: batch k is decided and appended while batch k-1 waits for
    // its delivery and its changelog record (Finish), in that order, so the
    // relay ships k's events while k-1's record is written.
    std::unique_ptr<InFlight> next = batch.empty() ? nullptr : Decide(batch);
    if (!Drain()) break;
    in_flight_ = std::move(next);
    if (batch.empty()) MarkIdleSnapshotsDue();
    if (!snapshot_due_.empty()) {
      // A snapshot is the state as the changelog has it: nothing in flight.
      if (!Drain()) break;
      WriteSnapshots();
    }
  }
  // A graceful stop writes the last batch's record (one attempt), so the
  // next owner does not decide it again.
  Drain();
  // librdkafka before 2.3 aborts the process when a cooperative-sticky
  // member is destroyed after the group chose its protocol but before its
  // first assignment (rd_kafka_sticky_assignor_state_destroy: assertion
  // `assignor_state', librdkafka issue 4312; Debian 12 ships 2.0.2). A node
  // stopped in the middle of its first rebalance waits for that assignment
  // (bounded) before it leaves; what it is given is handed back at once.
  if (!ever_assigned_ &&
      std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0) {
    const absl::Time deadline =
        absl::Now() + absl::Milliseconds(2 * static_cast<int64_t>(options_.session_timeout_ms));
    SURGE_LOG(INFO, kComponent) << name_ << ": waiting for the group's first assignment before "
                                   "leaving (cooperative-sticky, librdkafka < 2.3)";
    while (!ever_assigned_ && absl::Now() < deadline) {
      MessageHandle discarded(rd_kafka_consumer_poll(rk, 100));  // not decided: not committed
    }
  }
  // Leave the group: the revocation runs OnRevoke on this thread and the
  // others get the partitions after one rebalance, not a session timeout.
  rd_kafka_consumer_close(rk);
  SURGE_LOG(INFO, kComponent) << name_ << ": left the group";
}

struct Decider::Item {
  const projections::ConsumedMessage* message = nullptr;
  v1::Event event;
  std::string error;  // non-empty: dead-letter it with this error
};

struct Decider::InFlight {
  struct Pending {
    int32_t partition;
    ChangelogBatch record;
  };
  // One record per partition, applied to the states already.
  std::vector<Pending> pending;
  uint64_t last_position = 0;  // of the batch's local append; 0: none
  Stats delta;
};

bool Decider::Drain() {
  if (!in_flight_) return true;
  std::unique_ptr<InFlight> batch = std::move(in_flight_);
  return Finish(*batch);
}

std::unique_ptr<Decider::InFlight> Decider::Decide(
    const std::vector<projections::ConsumedMessage>& batch) {
  std::map<int32_t, std::vector<const projections::ConsumedMessage*>> by_partition;
  for (const auto& m : batch) by_partition[m.partition].push_back(&m);

  auto in_flight = std::make_unique<InFlight>();
  std::vector<InFlight::Pending>& pending = in_flight->pending;
  std::vector<v1::Event> emitted;
  std::vector<Item> dead;
  Stats& delta = in_flight->delta;
  const absl::Time decided_at = absl::Now();
  for (const auto& [partition, messages] : by_partition) {
    auto it = partitions_.find(partition);
    if (it == partitions_.end() || it->second->blocked) continue;  // not ours to decide
    Owned& owned = *it->second;
    BatchOverlay overlay(&owned.state);
    int64_t next = owned.state.next_offset();
    bool any = false;
    for (const projections::ConsumedMessage* m : messages) {
      if (m->offset < next) continue;  // reflected in the state already
      any = true;
      next = m->offset + 1;
      Item item;
      item.message = m;
      const bool decoded = item.event.ParseFromString(m->value) &&
                           item.event.payload_case() != v1::Event::PAYLOAD_NOT_SET;
      const std::string origin =
          !m->origin.empty() ? m->origin : (decoded ? item.event.node_id() : std::string());
      const uint64_t position =
          m->position.value_or(decoded ? item.event.position() : static_cast<uint64_t>(0));
      // A dead letter handed back for a replay: its original was counted in
      // its origin's mark when it failed, so it is decided once per
      // dead-letter id instead.
      const bool replay = !m->replay_of.empty();
      if (replay) {
        absl::StatusOr<std::optional<std::string>> done = overlay.Get(kReplaysCf, m->replay_of);
        if (done.ok() && done->has_value()) {
          ++delta.duplicates;
          continue;
        }
        overlay.Put(kReplaysCf, m->replay_of, absl::StrCat(options_.node_id, " ", m->offset));
      } else if (!origin.empty() && position > 0) {
        absl::StatusOr<std::optional<std::string>> raw = overlay.Get(kMarksCf, origin);
        const uint64_t mark = DecodeMark(raw.ok() ? *raw : std::nullopt);
        if (position <= mark) {
          ++delta.duplicates;
          continue;
        }
        if (m->prev_position.has_value() && *m->prev_position != 0 && *m->prev_position > mark) {
          // Earlier events of this origin never arrived: wait for their
          // re-relay (the origin's relay rewinds when its watermark stalls).
          ++delta.gaps;
          if (origin == options_.origin && options_.request_replay) {
            options_.request_replay(mark + 1);
          }
          continue;
        }
        overlay.Put(kMarksCf, origin, EncodeMark(position));
      }
      if (!decoded) {
        item.error = "INVALID_ARGUMENT: value is not a serialized surge.v1.Event";
        dead.push_back(std::move(item));
        continue;
      }
      BatchOverlay child(&overlay);
      absl::StatusOr<std::vector<v1::Event>> out = projection_.Handle(child, item.event);
      if (!out.ok()) {
        // Deterministic (same state, same input): every owner would fail.
        item.error = out.status().ToString();
        dead.push_back(std::move(item));
        continue;
      }
      child.MergeIntoParent();
      for (size_t i = 0; i < out->size(); ++i) {
        v1::Event& e = (*out)[i];
        e.set_event_id(replay ? absl::StrCat(m->replay_of, "/replay/", name_, "/", i)
                              : absl::StrCat(origin, ":", position, "/", name_, "/", i));
        emitted.push_back(std::move(e));
      }
      ++delta.applied;
      if (item.event.has_recorded_at()) {
        const google::protobuf::Timestamp& t = item.event.recorded_at();
        const absl::Time recorded =
            absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
        delta.event_ages.Add(decided_at - recorded);
        owned.deciding_event_unix_ms = absl::ToUnixMillis(recorded);
      }
    }
    if (!any) continue;
    ChangelogBatch record;
    record.set_epoch(owned.epoch);
    record.set_node_id(options_.node_id);
    record.set_base_offset(owned.state.next_offset());
    record.set_next_offset(next);
    record.set_written_unix_ms(absl::ToUnixMillis(absl::Now()));
    overlay.AppendWrites(record);
    pending.push_back({partition, std::move(record)});
  }
  if (pending.empty()) {
    absl::MutexLock lock(&mu_);
    stats_.duplicates += delta.duplicates;
    return nullptr;
  }

  // 1. Dead letters, then their rows with the decisions in one local append.
  eventstore::AppendRequest request;
  request.events = std::move(emitted);
  for (const Item& item : dead) {
    projections::DeliveryFailure failure;
    failure.error = item.error;
    failure.attempts = 1;
    failure.first_failure_unix_ms = absl::ToUnixMillis(absl::Now());
    absl::StatusOr<projections::DeadLetterCoordinates> where =
        kafka_->dead_letters->Publish(*item.message, failure);
    for (int attempt = 1; !where.ok(); ++attempt) {
      SURGE_LOG(WARNING, kComponent)
          << name_ << ": dead-letter publication failed: " << where.status();
      ++delta.retries;
      if (!Backoff(attempt)) return nullptr;
      where = kafka_->dead_letters->Publish(*item.message, failure);
    }
    const projections::ConsumedMessage& m = *item.message;
    const v1::DeadLetter row = projections::DeadLetterRow(m, failure, *where);
    SURGE_LOG(WARNING, kComponent)
        << name_ << ": dead-lettered " << m.topic << "/" << m.partition << "@" << m.offset << " as "
        << row.id() << ": " << failure.error;
    request.extra_writes.push_back(
        {projections::kDeadLettersCf, row.id(), row.SerializeAsString()});
    ++delta.dead_lettered;
  }
  uint64_t last_position = 0;
  if (!request.events.empty() || !request.extra_writes.empty()) {
    for (int attempt = 1;; ++attempt) {
      absl::StatusOr<eventstore::AppendResult> appended = store_.Append(request);
      if (appended.ok()) {
        last_position = appended->last_position;
        break;
      }
      SURGE_LOG(WARNING, kComponent) << name_ << ": append failed, retrying: " << appended.status();
      ++delta.retries;
      if (!Backoff(attempt)) return nullptr;
    }
  }
  in_flight->last_position = last_position;
  // The states move now, so that the next batch is decided on them while
  // this one's record is on its way. A record that never gets written (the
  // node stops or dies first) costs the next owner a decision of the same
  // inputs again: the same events, as after a crash.
  for (const InFlight::Pending& p : pending) partitions_.at(p.partition)->state.Apply(p.record);
  return in_flight;
}

bool Decider::Finish(InFlight& batch) {
  std::vector<InFlight::Pending>& pending = batch.pending;
  const uint64_t last_position = batch.last_position;
  Stats& delta = batch.delta;
  // 2. The decisions in Kafka before the changelog says they were made.
  if (last_position > 0 && options_.await_delivered) {
    while (!options_.await_delivered(last_position, absl::Now() + absl::Seconds(5))) {
      if (stopping()) return false;
      SURGE_LOG(WARNING, kComponent) << name_ << ": decisions up to log position " << last_position
                                     << " not in Kafka yet, still waiting";
    }
  }

  // 3. The changelog records, all partitions at once, each retried until
  // Kafka acknowledged it.
  std::vector<std::pair<int32_t, std::string>> values(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    auto it = partitions_.find(pending[i].partition);
    if (it != partitions_.end() && it->second->snapshot_at >= 0) {
      pending[i].record.set_snapshot_at(it->second->snapshot_at);
    }
    values[i].first = pending[i].partition;
    pending[i].record.SerializeToString(&values[i].second);
  }
  std::vector<size_t> todo(pending.size());
  for (size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  for (int attempt = 1;; ++attempt) {
    std::vector<Delivery> results = ProduceChangelog(
        kafka_->changelog.get(), kafka_->changelog_topic, values, todo, options_.changelog_timeout);
    std::vector<size_t> failed;
    for (size_t i : todo) {
      if (results[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) failed.push_back(i);
    }
    if (failed.empty()) break;
    SURGE_LOG(WARNING, kComponent)
        << name_ << ": " << failed.size() << " changelog record(s) not acknowledged ("
        << rd_kafka_err2name(results[failed[0]].err) << "), retrying";
    ++delta.retries;
    todo = std::move(failed);
    if (!Backoff(attempt)) return false;
  }

  // 4. Snapshot bookkeeping. No offsets are committed to the group: the
  // changelog says where each partition resumes, and under the cooperative
  // protocol a commit that reaches the broker mid-rebalance (an illegal
  // generation) makes librdkafka drop the whole assignment and rejoin, so
  // kept partitions would be revoked and restored after all
  // (DeciderHandoffTest.ACooperativeRebalanceMovesOnlyThePartitionThatChangesOwner
  // fails with per-batch commits). The input lag is exported instead
  // (surge_projection_lag_messages).
  for (size_t i = 0; i < pending.size(); ++i) {
    const InFlight::Pending& p = pending[i];
    auto it = partitions_.find(p.partition);
    if (it != partitions_.end()) {
      Owned& owned = *it->second;
      if (owned.deciding_event_unix_ms > 0) owned.last_event_unix_ms = owned.deciding_event_unix_ms;
      owned.last_record_at = absl::Now();
      ++owned.records_since_snapshot;
      owned.bytes_since_snapshot += values[i].second.size();
      if (SnapshotDue(owned)) snapshot_due_.insert(p.partition);
    }
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.batches;
    stats_.applied += delta.applied;
    stats_.duplicates += delta.duplicates;
    stats_.gaps += delta.gaps;
    stats_.dead_lettered += delta.dead_lettered;
    stats_.retries += delta.retries;
    stats_.changelog_records += pending.size();
    for (size_t i = 0; i < delta.event_ages.counts.size(); ++i) {
      stats_.event_ages.counts[i] += delta.event_ages.counts[i];
    }
    stats_.event_ages.sum += delta.event_ages.sum;
  }
  // Snapshots of the partitions whose changelog grew enough since their
  // last one are written by the loop once nothing is in flight
  // (WriteSnapshots). PublishOwned also moves the reflected offsets.
  PublishOwned();
  return true;
}


void Decider::MarkIdleSnapshotsDue() {
  if (options_.snapshot_when_idle <= absl::ZeroDuration() ||
      (options_.snapshot_interval_records == 0 && options_.snapshot_interval_bytes == 0)) {
    return;
  }
  const absl::Time now = absl::Now();
  for (auto& [partition, owned] : partitions_) {
    if (owned->blocked || owned->records_since_snapshot == 0 ||
        now - owned->last_record_at < options_.snapshot_when_idle) {
      continue;
    }
    snapshot_due_.insert(partition);
    owned->last_record_at = now;  // a snapshot that fails is tried after another idle period
  }
}

bool Decider::SnapshotDue(const Owned& owned) const {
  if (options_.snapshot_interval_records == 0 && options_.snapshot_interval_bytes == 0) {
    return false;
  }
  const bool interval = (options_.snapshot_interval_records > 0 &&
                         owned.records_since_snapshot >= options_.snapshot_interval_records) ||
                        (options_.snapshot_interval_bytes > 0 &&
                         owned.bytes_since_snapshot >= options_.snapshot_interval_bytes);
  // A large state is not written again after every interval: the
  // changelog's snapshots stay within about two thirds of what it holds.
  return interval && owned.bytes_since_snapshot >= owned.state.bytes() / 2;
}

void Decider::WriteSnapshots() {
  std::vector<int32_t> partitions;
  for (int32_t p : snapshot_due_) {
    if (partitions_.count(p) > 0) partitions.push_back(p);
  }
  snapshot_due_.clear();
  if (partitions.empty()) return;
  std::vector<std::pair<int32_t, std::string>> values;
  struct Range {
    int32_t partition;
    size_t first;  // index in values
    size_t count;
    int64_t written_unix_ms;
  };
  std::vector<Range> ranges;
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (int32_t p : partitions) {
    Owned& owned = *partitions_.at(p);
    const std::string id = absl::StrCat(options_.node_id, "/", owned.epoch, "/",
                                        owned.state.next_offset(), "/", ++owned.snapshots_written);
    std::vector<ChangelogBatch> chunks =
        owned.state.Snapshot(id, owned.epoch, options_.node_id, options_.snapshot_chunk_bytes);
    ranges.push_back({p, values.size(), chunks.size(), now_ms});
    for (ChangelogBatch& chunk : chunks) {
      chunk.set_written_unix_ms(now_ms);
      if (owned.snapshot_at >= 0) chunk.set_snapshot_at(owned.snapshot_at);
      values.emplace_back(p, chunk.SerializeAsString());
    }
  }
  std::vector<size_t> all(values.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  const std::vector<Delivery> results = ProduceChangelog(
      kafka_->changelog.get(), kafka_->changelog_topic, values, all, options_.changelog_timeout);
  uint64_t written = 0;
  uint64_t bytes = 0;
  uint64_t failed = 0;
  for (const Range& r : ranges) {
    // Complete only when every chunk is in, in order; otherwise the pointer
    // stays on the previous snapshot and the next batch tries again.
    bool complete = true;
    uint64_t size = 0;
    for (size_t i = r.first; i < r.first + r.count; ++i) {
      complete &= results[i].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                  (i == r.first || results[i].offset > results[i - 1].offset);
      size += values[i].second.size();
    }
    if (!complete) {
      ++failed;
      continue;
    }
    Owned& owned = *partitions_.at(r.partition);
    owned.snapshot_at = results[r.first].offset;
    owned.snapshot_unix_ms = r.written_unix_ms;
    owned.snapshot_bytes = size;
    owned.records_since_snapshot = 0;
    owned.bytes_since_snapshot = 0;
    ++written;
    bytes += size;
  }
  if (failed > 0) {
    SURGE_LOG(WARNING, kComponent) << name_ << ": " << failed
                                   << " snapshot(s) not acknowledged whole; tried again after "
                                      "the next batch";
  }
  absl::MutexLock lock(&mu_);
  stats_.snapshots += written;
  stats_.snapshot_bytes += bytes;
  stats_.snapshot_failures += failed;
}

void Decider::HandleRebalance(int err, void* partitions) {
  auto* list = static_cast<rd_kafka_topic_partition_list_t*>(partitions);
  // The batch in flight is finished first: its record belongs to states
  // about to be dropped or handed over.
  Drain();
  // COOPERATIVE (cooperative-sticky): the lists name only the partitions
  // that move. EAGER (range, roundrobin): every partition was revoked
  // before, and an assignment is the whole new one.
  const bool incremental =
      std::strcmp(rd_kafka_rebalance_protocol(kafka_->consumer.get()), "COOPERATIVE") == 0;
  std::vector<int32_t> named;
  for (int i = 0; i < list->cnt; ++i) named.push_back(list->elems[i].partition);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    ever_assigned_ = true;
    if (!incremental) partitions_.clear();
    OnAssign(std::move(named), incremental);
  } else {
    OnRevoke(named, incremental);
  }
}

}  // namespace surge::cluster
