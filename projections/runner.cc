#include "projections/runner.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/thread_name.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"
#include "projections/internal/kafka_dead_letter_publisher.h"
#include "projections/internal/kafka_message.h"

namespace surge::projections {
namespace {

// After a park that timed out: how long the runner polls before it may park
// again (a few fetch round trips of the embedded broker).
constexpr absl::Duration kRecheck = absl::Milliseconds(5);

using internal::ToConsumed;
using kafka::internal::ClientHandle;
using kafka::internal::MessageHandle;
using kafka::internal::TopicPartitionListHandle;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};

// Partition ids of `topic`, waiting (bounded) until the metadata lists it.
absl::StatusOr<std::vector<int32_t>> TopicPartitions(rd_kafka_t* rk, const std::string& topic,
                                                     absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::DeadlineExceededError(absl::StrCat("no metadata for ", topic));
  while (absl::Now() < deadline) {
    const rd_kafka_metadata_t* raw = nullptr;
    const int wait_ms = static_cast<int>(
        std::clamp<int64_t>(absl::ToInt64Milliseconds(deadline - absl::Now()), 1, 1000));
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &raw, wait_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last = kafka::internal::KafkaStatus(err, absl::StrCat("metadata for ", topic));
      continue;
    }
    std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> md(raw);
    for (int i = 0; i < md->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& t = md->topics[i];
      if (topic != t.topic || t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt == 0) {
        continue;
      }
      std::vector<int32_t> partitions;
      for (int p = 0; p < t.partition_cnt; ++p) partitions.push_back(t.partitions[p].id);
      std::sort(partitions.begin(), partitions.end());
      return partitions;
    }
    last = absl::DeadlineExceededError(absl::StrCat("topic ", topic, " not in metadata"));
    absl::SleepFor(absl::Milliseconds(50));  // let the broker auto-create it
  }
  return absl::DeadlineExceededError(absl::StrCat("no partitions for ", topic, " within ",
                                                  absl::FormatDuration(timeout), ": ",
                                                  last.message()));
}

}  // namespace

struct ProjectionRunner::Kafka {
  ClientHandle consumer;
  std::unique_ptr<internal::KafkaDeadLetterPublisher> publisher;
};

absl::StatusOr<std::unique_ptr<ProjectionRunner>> ProjectionRunner::Create(
    const Options& options, Projection& projection, eventstore::EventStore& store) {
  if (options.bootstrap_servers.empty() || options.topic.empty() || options.group_id.empty()) {
    return absl::InvalidArgumentError(
        "ProjectionRunner needs bootstrap_servers, topic and group_id");
  }
  if (options.produce_watch != nullptr && (options.park_after <= absl::ZeroDuration() ||
                                           options.park_timeout <= absl::ZeroDuration())) {
    return absl::InvalidArgumentError("park_after and park_timeout must be positive");
  }
  if (options.max_batch == 0 || options.retry_attempts < 1) {
    return absl::InvalidArgumentError("max_batch and retry_attempts must be positive");
  }
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", options.group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      // How long a broker may hold a fetch that found nothing. A real Kafka
      // broker answers as soon as data arrives, so there this only bounds
      // idle round trips; librdkafka's mock cluster (the embedded broker)
      // holds it in full, so there it adds up to this much to every hop.
      // 5 ms suits both; surge-server sets its own through consumer_config
      // (--kafka_fetch_wait_ms: 1 ms embedded, 100 ms external).
      {"fetch.wait.max.ms", "5"},
      // Prefetched messages waiting for the runner. librdkafka's default
      // (64 MiB per consumer, three consumers) is memory a backlog would fill
      // for nothing: a batch takes at most max_batch messages, and the
      // broker keeps the rest.
      {"queued.max.messages.kbytes", "8192"},
  };
  for (const auto& [k, v] : options.consumer_config) settings[k] = v;
  SURGE_ASSIGN_OR_RETURN(kafka::internal::ConfHandle conf, kafka::internal::MakeConf(settings));
  auto kafka = std::make_unique<Kafka>();
  SURGE_ASSIGN_OR_RETURN(kafka->consumer,
                         kafka::internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  // Serve everything (errors, logs) from the consumer queue we poll.
  rd_kafka_poll_set_consumer(kafka->consumer.get());
  SURGE_ASSIGN_OR_RETURN(kafka->publisher, internal::KafkaDeadLetterPublisher::Create(
                                               options.bootstrap_servers, options.producer_config,
                                               options.dead_letter_timeout));

  ProjectionApplier::Options applier_options;
  applier_options.projection_name = options.projection_name;
  applier_options.topic = options.topic;
  applier_options.retry_attempts = options.retry_attempts;
  applier_options.backoff_min = options.backoff_min;
  applier_options.backoff_max = options.backoff_max;
  auto applier = std::make_unique<ProjectionApplier>(
      applier_options, projection, store, kafka->publisher.get(), options.request_replay);
  return std::unique_ptr<ProjectionRunner>(
      new ProjectionRunner(options, std::move(kafka), std::move(applier)));
}

ProjectionRunner::ProjectionRunner(const Options& options, std::unique_ptr<Kafka> kafka,
                                   std::unique_ptr<ProjectionApplier> applier)
    : options_(options), kafka_(std::move(kafka)), applier_(std::move(applier)) {}

ProjectionRunner::~ProjectionRunner() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  applier_->Stop();
  if (thread_.joinable()) thread_.join();
  rd_kafka_consumer_close(kafka_->consumer.get());
}

absl::Status ProjectionRunner::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("projection runner already started");
  }
  SURGE_ASSIGN_OR_RETURN(
      std::vector<int32_t> partitions,
      TopicPartitions(kafka_->consumer.get(), options_.topic, options_.metadata_timeout));
  // Load every checkpoint now so a broken store fails Start, not the thread.
  for (int32_t p : partitions) SURGE_RETURN_IF_ERROR(applier_->Applied(p).status());
  TopicPartitionListHandle list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (int32_t p : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_STORED;
  }
  SURGE_RETURN_IF_ERROR(kafka::internal::KafkaStatus(
      rd_kafka_assign(kafka_->consumer.get(), list.get()), "assign " + options_.topic));
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
    partitions_ = partitions;
  }
  SURGE_LOG(INFO, "projections") << applier_->projection_name() << ": consuming " << options_.topic
                                 << " (" << partitions.size() << " partitions)";
  thread_ = std::thread([this] {
    SetCurrentThreadName("surge-p-" + applier_->projection_name());
    Run();
  });
  return absl::OkStatus();
}

std::vector<int32_t> ProjectionRunner::partitions() const {
  absl::MutexLock lock(&mu_);
  return partitions_;
}

ProjectionRunner::Stats ProjectionRunner::GetStats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

bool ProjectionRunner::AwaitStats(const std::function<bool(const Stats&)>& done,
                                  absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto holds = [this, &done]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return done(stats_); };
  return mu_.AwaitWithDeadline(absl::Condition(&holds), deadline);
}

bool ProjectionRunner::stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void ProjectionRunner::Run() {
  rd_kafka_t* rk = kafka_->consumer.get();
  // With a produce watch, the first poll waits only park_after, so an idle
  // runner notices soon that it may park.
  const int poll_ms = static_cast<int>(absl::ToInt64Milliseconds(
      options_.produce_watch != nullptr ? std::min(options_.poll_timeout, options_.park_after)
                                        : options_.poll_timeout));
  absl::Time last_message = absl::Now();
  std::vector<ConsumedMessage> batch;
  // Set by a consumer error, cleared (and logged) by the next message: the
  // operator sees when the broker trouble ended, not only that it began.
  bool consumer_failing = false;
  while (!stopping()) {
    batch.clear();
    bool offsets_lost = false;
    // Wait for the first message, then take whatever is already fetched.
    for (int timeout = poll_ms; batch.size() < options_.max_batch; timeout = 0) {
      MessageHandle msg(rd_kafka_consumer_poll(rk, timeout));
      if (msg == nullptr) break;
      if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (consumer_failing) {
          consumer_failing = false;
          SURGE_LOG(INFO, "projections") << applier_->projection_name() << ": consuming "
                                         << options_.topic << " again after consumer errors";
        }
        int64_t& next = next_offsets_[msg->partition];
        next = std::max(next, msg->offset + 1);
        batch.push_back(ToConsumed(msg.get()));
        continue;
      }
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
          msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        offsets_lost = true;
      }
      consumer_failing = true;
      SURGE_LOG(WARNING, "projections")
          << applier_->projection_name() << ": consumer error: " << rd_kafka_err2name(msg->err)
          << ": " << rd_kafka_message_errstr(msg.get());
      absl::MutexLock lock(&mu_);
      ++stats_.consumer_errors;
    }
    if (offsets_lost) {
      // The broker dropped data we had not consumed: re-relay from the log.
      SURGE_LOG(WARNING, "projections")
          << applier_->projection_name() << ": offsets of " << options_.topic
          << " are gone from the broker, asking for a re-relay from the applied positions";
      absl::Status status = applier_->RequestReplayFromApplied(partitions());
      if (!status.ok()) SURGE_LOG(ERROR, "projections") << "replay request failed: " << status;
    }
    if (const std::string foreign = ForeignOrigin(batch); !foreign.empty()) {
      // Nothing of this batch is applied or committed; the runner stays
      // stopped until the process is restarted with a correct set-up.
      SURGE_LOG(ERROR, "projections")
          << applier_->projection_name() << ": " << options_.topic << " holds events of another "
          << "surge node's log (origin " << foreign << ", this node is " << options_.origin
          << "): two nodes share these topics without --cluster. Deciding stopped, nothing "
             "of that input applied. Run every node with --cluster (and its own --node_id "
             "and --data_dir), or give each single node its own Kafka";
      {
        absl::MutexLock lock(&mu_);
        stats_.foreign_origin = foreign;
      }
      if (options_.on_foreign_origin) options_.on_foreign_origin(foreign);
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&stop_));
      return;
    }
    if (!batch.empty()) {
      last_message = absl::Now();
      HandleBatch(batch);
    }
    UpdateLag();
    if (options_.produce_watch != nullptr && batch.empty() && !offsets_lost &&
        absl::Now() - last_message >= options_.park_after) {
      // Resumed by the relay: poll for park_after before parking again, so
      // the message that woke us is fetched first. Resumed by the timeout
      // (or not parked): one fetch round trip is enough to look.
      last_message = MaybePark() ? absl::Now() : absl::Now() - options_.park_after + kRecheck;
    }
  }
}

bool ProjectionRunner::MaybePark() {
  const kafka::ProduceWatch& watch = *options_.produce_watch;
  // The ticket comes first: whatever the relay produces after it wakes us,
  // even if it lands between the check and the pause.
  const kafka::ProduceWatch::Ticket ticket = watch.Take(options_.topic);
  if (!watch.CaughtUp(ticket, options_.topic, next_offsets_)) return false;
  rd_kafka_t* rk = kafka_->consumer.get();
  const std::vector<int32_t> assigned = partitions();
  TopicPartitionListHandle list(
      rd_kafka_topic_partition_list_new(static_cast<int>(assigned.size())));
  for (int32_t p : assigned) {
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p);
  }
  if (rd_kafka_pause_partitions(rk, list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  {
    absl::MutexLock lock(&mu_);
    ++stats_.parks;
    stats_.parked = true;
  }
  const absl::Time deadline = absl::Now() + options_.park_timeout;
  bool produced = false;
  // Bounded slices, so Stop is noticed within 100 ms.
  while (!produced && !stopping()) {
    const absl::Time now = absl::Now();
    if (now >= deadline) break;
    produced = watch.AwaitProduced(ticket, options_.topic,
                                   std::min(deadline, now + absl::Milliseconds(100)));
  }
  rd_kafka_resume_partitions(rk, list.get());
  // librdkafka 2.0 does not wake the broker thread on resume, which then
  // fetches up to a second later. A seek to where the runner stands wakes
  // it. A partition nothing was polled from starts at its beginning, as
  // auto.offset.reset=earliest would (the embedded broker starts empty):
  // the low watermark of the last fetch, which spares the offset lookup a
  // logical BEGINNING costs.
  for (int i = 0; i < list->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = list->elems[i];
    auto it = next_offsets_.find(tp.partition);
    int64_t low = RD_KAFKA_OFFSET_INVALID;
    int64_t high = RD_KAFKA_OFFSET_INVALID;
    if (it != next_offsets_.end()) {
      tp.offset = it->second;
    } else if (rd_kafka_get_watermark_offsets(rk, options_.topic.c_str(), tp.partition, &low,
                                              &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
               low >= 0) {
      tp.offset = low;
    } else {
      tp.offset = RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  kafka::internal::ErrorHandle error(rd_kafka_seek_partitions(rk, list.get(), /*timeout_ms=*/0));
  if (error != nullptr) {
    SURGE_LOG(WARNING, "projections")
        << applier_->projection_name()
        << ": seek after resume: " << rd_kafka_error_string(error.get());
  }
  absl::MutexLock lock(&mu_);
  stats_.parked = false;
  return produced;
}

void ProjectionRunner::UpdateLag() {
  rd_kafka_t* rk = kafka_->consumer.get();
  uint64_t lag = 0;
  for (int32_t p : partitions()) {
    int64_t low = RD_KAFKA_OFFSET_INVALID;
    int64_t high = RD_KAFKA_OFFSET_INVALID;
    // Cached values only (no broker round trip): the high watermark comes
    // with every fetch response.
    if (rd_kafka_get_watermark_offsets(rk, options_.topic.c_str(), p, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    // Nothing consumed yet on this partition: all it retains is pending.
    auto it = next_offsets_.find(p);
    const int64_t position = it != next_offsets_.end() ? it->second : std::max<int64_t>(low, 0);
    if (high > position) lag += static_cast<uint64_t>(high - position);
  }
  absl::MutexLock lock(&mu_);
  stats_.lag_messages = lag;
}

size_t ProjectionRunner::SecondsBucket(double seconds) {
  return static_cast<size_t>(
      std::lower_bound(kSecondsBounds.begin(), kSecondsBounds.end(), seconds) -
      kSecondsBounds.begin());
}

std::string ProjectionRunner::ForeignOrigin(const std::vector<ConsumedMessage>& batch) const {
  if (options_.origin.empty()) return "";
  const absl::string_view node_id =
      absl::string_view(options_.origin).substr(0, options_.origin.find('~'));
  for (const ConsumedMessage& m : batch) {
    if (!m.origin.empty() && m.origin != options_.origin && m.origin != node_id) return m.origin;
  }
  return "";
}

void ProjectionRunner::SecondsHistogram::Add(absl::Duration d) {
  const double seconds = std::max(0.0, absl::ToDoubleSeconds(d));
  ++counts[SecondsBucket(seconds)];
  sum += seconds;
}

void ProjectionRunner::HandleBatch(std::vector<ConsumedMessage>& batch) {
  const absl::Time start = absl::Now();
  absl::StatusOr<ProjectionApplier::BatchResult> result = applier_->ApplyBatch(batch);
  const absl::Duration batch_elapsed = absl::Now() - start;
  if (!result.ok()) {
    // Nothing is lost: uncommitted messages come back (after a restart or a
    // replay) and are deduplicated.
    if (stopping()) return;  // a retry loop interrupted by shutdown
    SURGE_LOG(ERROR, "projections")
        << applier_->projection_name() << ": batch failed: " << result.status();
    {
      // The consumer moved past the unhandled part: have the relay re-send it.
      absl::Status status = applier_->RequestReplayFromApplied(partitions());
      if (!status.ok()) SURGE_LOG(ERROR, "projections") << "replay request failed: " << status;
    }
    return;
  }
  std::map<int32_t, int64_t> next_offsets;
  for (const ConsumedMessage& m : batch) {
    int64_t& next = next_offsets[m.partition];
    next = std::max(next, m.offset + 1);
  }
  uint64_t highest = 0;
  for (const auto& [partition, unused] : next_offsets) {
    highest = std::max(highest, applier_->Applied(partition).value_or(0));
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.batches;
    stats_.retries += result->retries;
    stats_.consumed += batch.size();
    // Smallest i with 2^i >= size; batches are never empty.
    const size_t bucket = std::bit_width(batch.size() - 1);
    ++stats_.batch_sizes[std::min(bucket, Stats::kBatchSizeBuckets)];
    stats_.applied += result->applied;
    stats_.duplicates += result->duplicates;
    stats_.gaps += result->gaps;
    stats_.dead_lettered += result->dead_lettered;
    stats_.applied_position = std::max(stats_.applied_position, highest);
    stats_.batch_seconds.Add(batch_elapsed);
    for (absl::Duration age : result->event_ages) stats_.event_ages.Add(age);
    for (absl::Duration age : result->relay_ages) stats_.relay_ages.Add(age);
    for (absl::Duration age : result->kafka_ages) stats_.kafka_ages.Add(age);
  }
  TopicPartitionListHandle list(
      rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size())));
  for (const auto& [partition, offset] : next_offsets) {
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), partition)->offset =
        offset;
  }
  // Async, errors ignored: the applied positions in the store protect us.
  rd_kafka_commit(kafka_->consumer.get(), list.get(), 1);
  if (result->appends > 0 && options_.on_applied) options_.on_applied();
}

}  // namespace surge::projections
