#include "cluster/decider.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
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

// Delivery report: the message's opaque points at its result slot.
void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  if (msg->_private != nullptr) *static_cast<rd_kafka_resp_err_t*>(msg->_private) = msg->err;
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
  bool blocked = false;  // the changelog lost its first records: not decided
};

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
  rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR__IN_PROGRESS;
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
  if (result == RD_KAFKA_RESP_ERR__IN_PROGRESS) {
    rd_kafka_purge(producer.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer.get(), 0);
    return absl::UnavailableError(absl::StrCat("replay ", id, ": Kafka did not acknowledge it"));
  }
  if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::internal::KafkaStatus(result, absl::StrCat("replay ", id));
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
  for (const auto& [partition, next] : reflected_) {
    stats.input_offsets += static_cast<uint64_t>(next);
    int64_t low = 0;
    int64_t high = 0;
    // Cached by the consumer's fetches: no request, safe from any thread.
    if (rd_kafka_get_watermark_offsets(kafka_->consumer.get(), options_.topic.c_str(), partition,
                                       &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        high > next) {
      stats.input_lag_messages += static_cast<uint64_t>(high - next);
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
    owned.push_back({partition, o->epoch, o->blocked});
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
  std::map<int32_t, int64_t> reflected;
  for (const auto& [partition, o] : partitions_) {
    if (!o->blocked) reflected[partition] = o->state.next_offset();  // blocked: its own alert
  }
  absl::MutexLock lock(&mu_);
  reflected_ = std::move(reflected);
}

std::map<int32_t, std::unique_ptr<Decider::Owned>> Decider::Restore(
    const std::vector<int32_t>& partitions) {
  rd_kafka_t* rk = kafka_->restorer.get();
  const std::string& topic = kafka_->changelog_topic;
  for (int attempt = 1;; ++attempt) {
    const absl::Time start = absl::Now();
    std::map<int32_t, std::unique_ptr<Owned>> out;
    std::map<int32_t, uint64_t> records;
    // Per partition still to read: the offset of its last record.
    std::map<int32_t, int64_t> reading;
    std::map<int32_t, int64_t> last;
    TopicPartitionListHandle list(
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    absl::Status status;
    for (int32_t partition : partitions) {
      auto owned = std::make_unique<Owned>();
      int64_t low = 0;
      int64_t high = 0;
      status = kafka::internal::KafkaStatus(
          rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high,
                                           Millis(options_.restore_attempt_timeout)),
          absl::StrCat("watermarks of ", topic, "/", partition));
      if (!status.ok()) break;
      if (low > 0) {
        // The state's first records are gone (retention): the state would
        // be incomplete and deciding on it could issue a coupon past the
        // quantity or take stock twice. Refuse the partition instead: its
        // commands wait (and admission refuses new ones) until an operator
        // gives the changelog its records back. A changelog needs
        // unlimited retention (see README).
        SURGE_LOG(ERROR, kComponent)
            << name_ << ": " << topic << "/" << partition << " starts at offset " << low
            << ": records were deleted (retention), so its state cannot be restored; "
            << options_.topic << "/" << partition << " will not be decided here";
        owned->blocked = true;
      } else if (high > low) {
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = low;
        reading[partition] = high - 1;
        last[partition] = low - 1;
      }
      out[partition] = std::move(owned);
    }
    // Every partition at once: their fetches share requests, so gaining N
    // partitions costs about the longest changelog, not the sum of them.
    if (status.ok() && !reading.empty()) {
      status = kafka::internal::KafkaStatus(rd_kafka_assign(rk, list.get()), "assign changelog");
      // A deadline on progress, not on the whole read: a long changelog on a
      // loaded machine is slow, not stuck (the dev broker answers a fetch
      // with one produce batch, i.e. one record, per partition: ~100
      // records/s under load), and starting over would never finish it.
      absl::Time deadline = absl::Now() + options_.restore_attempt_timeout;
      while (status.ok() && !reading.empty()) {
        if (stopping()) {
          rd_kafka_assign(rk, nullptr);
          return {};
        }
        if (absl::Now() > deadline) {
          std::vector<std::string> behind;
          for (const auto& [p, target] : reading) {
            behind.push_back(absl::StrCat(p, " at ", last[p] + 1, " of ", target + 1));
          }
          status = absl::DeadlineExceededError(
              absl::StrCat("reading ", topic, ": no record for ",
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
        ++records[msg->partition];
        ChangelogBatch record;
        if (msg->payload == nullptr ||
            !record.ParseFromArray(msg->payload, static_cast<int>(msg->len))) {
          SURGE_LOG(ERROR, kComponent) << name_ << ": unreadable changelog record " << topic << "/"
                                       << msg->partition << "@" << msg->offset << ", skipped";
        } else {
          out[msg->partition]->state.Apply(record);
        }
        if (msg->offset >= it->second) reading.erase(it);
      }
      rd_kafka_assign(rk, nullptr);
    }
    if (status.ok()) {
      const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
      absl::MutexLock lock(&mu_);
      for (auto& [partition, owned] : out) {
        if (owned->blocked) continue;
        owned->epoch = owned->state.max_epoch() + 1;
        SURGE_LOG(INFO, kComponent)
            << name_ << ": restored " << options_.topic << "/" << partition << " from "
            << records[partition] << " changelog records (" << owned->state.size()
            << " keys, input offset " << owned->state.next_offset() << ") in "
            << absl::StrFormat("%.3f", seconds) << " s with " << partitions.size() - 1
            << " other partition(s); epoch " << owned->epoch;
        ++stats_.restores;
        stats_.restored_records += records[partition];
        stats_.restored_keys += owned->state.size();
        ++stats_.restore_seconds[Bucket(seconds)];
        stats_.restore_seconds_sum += seconds;
      }
      return out;
    }
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

void Decider::OnAssign(std::vector<int32_t> partitions) {
  std::sort(partitions.begin(), partitions.end());
  TopicPartitionListHandle list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  std::map<int32_t, std::unique_ptr<Owned>> restored = Restore(partitions);
  if (restored.size() != partitions.size()) return;  // stopping
  for (int32_t p : partitions) {
    std::unique_ptr<Owned> owned = std::move(restored[p]);
    if (!owned->blocked) {  // a blocked partition stays owned but is not consumed
      const int64_t next = owned->state.next_offset();
      rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset =
          next > 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    partitions_[p] = std::move(owned);
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(kafka_->consumer.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
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

void Decider::OnRevoke() {
  std::vector<int32_t> lost;
  for (const auto& [p, unused] : partitions_) lost.push_back(p);
  partitions_.clear();
  rd_kafka_assign(kafka_->consumer.get(), nullptr);
  SURGE_LOG(INFO, kComponent) << name_ << ": lost " << options_.topic << " partitions ["
                              << absl::StrJoin(lost, ",") << "]";
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
    for (int timeout = poll_ms; batch.size() < options_.max_batch; timeout = 0) {
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
    if (!batch.empty()) HandleBatch(batch);
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

void Decider::HandleBatch(const std::vector<projections::ConsumedMessage>& batch) {
  std::map<int32_t, std::vector<const projections::ConsumedMessage*>> by_partition;
  for (const auto& m : batch) by_partition[m.partition].push_back(&m);

  struct Pending {
    int32_t partition;
    ChangelogBatch record;
  };
  std::vector<Pending> pending;
  std::vector<v1::Event> emitted;
  std::vector<Item> dead;
  Stats delta;
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
    return;
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
      if (!Backoff(attempt)) return;
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
      if (!Backoff(attempt)) return;
    }
  }

  // 2. The decisions in Kafka before the changelog says they were made.
  if (last_position > 0 && options_.await_delivered) {
    while (!options_.await_delivered(last_position, absl::Now() + absl::Seconds(5))) {
      if (stopping()) return;
      SURGE_LOG(WARNING, kComponent) << name_ << ": decisions up to log position " << last_position
                                     << " not in Kafka yet, still waiting";
    }
  }

  // 3. The changelog records, all partitions at once, each retried until
  // Kafka acknowledged it.
  std::vector<std::string> values(pending.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i].record.SerializeToString(&values[i]);
  std::vector<size_t> todo(pending.size());
  for (size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  rd_kafka_t* producer = kafka_->changelog.get();
  for (int attempt = 1; !todo.empty(); ++attempt) {
    std::vector<rd_kafka_resp_err_t> results(pending.size(), RD_KAFKA_RESP_ERR__IN_PROGRESS);
    for (size_t i : todo) {
      const std::string key = absl::StrCat(pending[i].partition);
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(kafka_->changelog_topic.c_str()),
          RD_KAFKA_V_PARTITION(pending[i].partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(values[i].data(), values[i].size()), RD_KAFKA_V_OPAQUE(&results[i]),
          RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) results[i] = err;
    }
    rd_kafka_flush(producer, Millis(options_.changelog_timeout));
    std::vector<size_t> failed;
    for (size_t i : todo) {
      if (results[i] != RD_KAFKA_RESP_ERR_NO_ERROR) failed.push_back(i);
    }
    if (failed.empty()) break;
    SURGE_LOG(WARNING, kComponent)
        << name_ << ": " << failed.size() << " changelog record(s) not acknowledged ("
        << rd_kafka_err2name(results[failed[0]]) << "), retrying";
    // A record still in flight would come back through the purge as failed.
    rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer, 0);
    ++delta.retries;
    todo = std::move(failed);
    if (!Backoff(attempt)) return;
  }

  // 4. The states move; offsets are committed as a hint for operators.
  TopicPartitionListHandle offsets(
      rd_kafka_topic_partition_list_new(static_cast<int>(pending.size())));
  for (Pending& p : pending) {
    auto it = partitions_.find(p.partition);
    if (it != partitions_.end()) it->second->state.Apply(p.record);
    rd_kafka_topic_partition_list_add(offsets.get(), options_.topic.c_str(), p.partition)->offset =
        p.record.next_offset();
  }
  rd_kafka_commit(kafka_->consumer.get(), offsets.get(), 1);
  PublishReflected();
  uint64_t keys = 0;
  for (const auto& [unused, o] : partitions_) keys += o->state.size();
  absl::MutexLock lock(&mu_);
  ++stats_.batches;
  stats_.applied += delta.applied;
  stats_.duplicates += delta.duplicates;
  stats_.gaps += delta.gaps;
  stats_.dead_lettered += delta.dead_lettered;
  stats_.retries += delta.retries;
  stats_.changelog_records += pending.size();
  stats_.state_keys = keys;
}

void Decider::HandleRebalance(int err, void* partitions) {
  auto* list = static_cast<rd_kafka_topic_partition_list_t*>(partitions);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // Eager protocol: everything was revoked before, so this is the whole
    // new assignment.
    partitions_.clear();
    std::vector<int32_t> gained;
    for (int i = 0; i < list->cnt; ++i) gained.push_back(list->elems[i].partition);
    OnAssign(std::move(gained));
  } else {
    OnRevoke();
  }
}

}  // namespace surge::cluster
