#include "kafka/relay.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/thread_name.h"
#include "kafka/internal/applied_positions.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"
#include "kafka/internal/progress.h"
#include "kafka/topics.h"

namespace surge::kafka {
namespace {

constexpr char kComponent[] = "relay";
// Applied checkpoints of all projections; see projections/read_models.h
// (not included: projections depend on this module, not the reverse).
constexpr char kAppliedPrefix[] = "applied/";
constexpr size_t kMaxCheckpointRows = 100000;
// Longest the relay thread blocks in one wait, so stop requests, replays and
// delivery reports are handled promptly.
constexpr absl::Duration kMaxWait = absl::Milliseconds(10);
// Longest wait for the log head when nothing is in flight or unapplied: it
// bounds how late an idle relay notices a replay request or Stop, and costs
// ten wake-ups a second.
constexpr absl::Duration kIdleWait = absl::Milliseconds(100);
// How often the applied checkpoints are found by a prefix scan (new
// projections or partitions appear); in between the known keys are read by
// point lookups. A scan steps over every overwritten version of the rows in
// the memtable (each projection batch rewrites them): under load it cost
// ~9% of the server's instructions when it ran on every applied batch.
constexpr absl::Duration kAppliedRescanInterval = absl::Seconds(1);

int ToMillis(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 0, 1 << 30));
}

}  // namespace

namespace internal {

// Everything the relay thread owns. The librdkafka callbacks run inside
// rd_kafka_poll/flush, which only the relay thread calls, so they may touch
// this state without a lock.
struct RelayState {
  explicit RelayState(const Relay::Options& options)
      : watch(options.produce_watch),
        topics(EventTopics()),
        slots(topics.size() * static_cast<size_t>(options.partitions)),
        watermarks(slots),
        prev(slots, 0),
        applied(slots, 0) {}

  ProduceWatch* watch;  // may be null
  std::vector<std::string> topics;
  size_t slots;
  ClientHandle producer;

  WatermarkTracker watermarks;
  DeliveredTracker delivered;
  std::vector<uint64_t> prev;     // per slot: gap protocol's previous position
  std::vector<uint64_t> applied;  // per slot: lowest applied over projections
  uint64_t cursor = 1;            // next position to produce

  // Set by callbacks, handled by the loop.
  std::optional<uint64_t> failed_min;  // lowest undelivered failed position
  bool fatal = false;

  // Progress and timers.
  uint64_t last_w = 0;
  absl::Time last_w_change;
  absl::Duration stall_wait;  // Options::stall_timeout, doubled per fruitless stall rewind
  uint64_t stall_rewinds = 0;
  absl::Time next_applied_poll = absl::InfinitePast();
  absl::Time next_applied_rescan = absl::InfinitePast();
  std::vector<std::string> applied_keys;  // found by the last scan
  absl::Time next_checkpoint = absl::InfinitePast();
  absl::Time backoff_until = absl::InfinitePast();
  int consecutive_errors = 0;
  uint64_t applied_seen_seq = 0;
  uint64_t persisted_delivered = UINT64_MAX;
  uint64_t persisted_w = UINT64_MAX;

  // Counters published to Stats.
  uint64_t produced = 0;
  uint64_t skipped = 0;
  uint64_t errors = 0;
  uint64_t rewinds = 0;
  std::optional<absl::Time> last_delivery;
  // Set by a failed delivery, cleared (and logged once) by the next success,
  // so an operator sees when a broker outage ends.
  bool delivery_failing = false;

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* state = static_cast<RelayState*>(opaque);
    const auto position = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(msg->_private));
    if (state->watch != nullptr) {
      const std::string topic = rd_kafka_topic_name(msg->rkt);
      if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        state->watch->OnDelivered(topic, msg->partition, msg->offset);
      } else {
        state->watch->OnFailed(topic);
      }
    }
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      state->delivered.MarkDelivered(position);
      state->last_delivery = absl::Now();
      state->consecutive_errors = 0;
      if (state->delivery_failing) {
        state->delivery_failing = false;
        SURGE_LOG(INFO, kComponent) << "deliveries succeed again (position " << position << ")";
      }
      return;
    }
    ++state->errors;
    state->delivery_failing = true;
    if (state->delivered.IsDelivered(position)) return;  // an older copy made it
    if (!state->failed_min.has_value()) {
      SURGE_LOG(WARNING, kComponent) << "delivery of position " << position
                                     << " failed: " << internal::KafkaStatus(msg->err, "deliver");
    }
    state->failed_min = std::min(state->failed_min.value_or(UINT64_MAX), position);
  }

  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* state = static_cast<RelayState*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) state->fatal = true;
    SURGE_LOG(WARNING, kComponent)
        << "producer: " << rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) << ": "
        << reason;
  }
};

}  // namespace internal

namespace {

absl::StatusOr<internal::ClientHandle> MakeProducer(const Relay::Options& options, void* state) {
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", "surge-relay"},
      // Order per partition comes from one request in flight per broker
      // connection: a failed request is retried before anything after it
      // is sent, so a retry cannot overtake. A retry may duplicate messages
      // the broker did store; every consumer skips positions it applied.
      // acks=all is what makes a delivery durable.
      //
      // Not librdkafka's idempotent producer: in 2.0.2 it counts its
      // per-partition window of 5 requests in messages (rktp_msgs_inflight),
      // so a partition with 5 messages unacknowledged sends nothing more,
      // and the broker thread spins on poll(0) until the acks arrive. Under
      // load that thread took 13-19% of the server's CPU, and orders
      // settled in 66-73 ms (median, closed loop) against 28-31 ms with
      // this setting (bench/notes.md).
      {"enable.idempotence", "false"},
      {"max.in.flight.requests.per.connection", "1"},
      {"acks", "all"},
      // Each hop of a saga waits for it once: keep it short. Under load,
      // batches still form while earlier requests are in flight.
      {"linger.ms", "1"},
  };
  for (const auto& [key, value] : options.producer_config) settings[key] = value;
  absl::StatusOr<internal::ConfHandle> conf = internal::MakeConf(settings);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), state);
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &internal::RelayState::OnDelivery);
  rd_kafka_conf_set_error_cb(conf->get(), &internal::RelayState::OnError);
  return internal::NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Relay>> Relay::Create(const Options& options,
                                                     eventstore::EventStore& store) {
  if (options.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("relay: bootstrap_servers is required");
  }
  if (options.partitions < 1) return absl::InvalidArgumentError("relay: partitions must be >= 1");
  if (options.window < 1) return absl::InvalidArgumentError("relay: window must be >= 1");
  if (options.read_batch < 1) return absl::InvalidArgumentError("relay: read_batch must be >= 1");
  if (options.backoff_min <= absl::ZeroDuration() || options.backoff_max < options.backoff_min) {
    return absl::InvalidArgumentError("relay: need 0 < backoff_min <= backoff_max");
  }
  if (options.stall_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("relay: stall_timeout must be > 0");
  }
  auto state = std::make_unique<internal::RelayState>(options);
  absl::StatusOr<internal::ClientHandle> producer = MakeProducer(options, state.get());
  if (!producer.ok()) return producer.status();
  state->producer = std::move(*producer);
  return std::unique_ptr<Relay>(new Relay(options, store, std::move(state)));
}

Relay::Relay(const Options& options, eventstore::EventStore& store,
             std::unique_ptr<internal::RelayState> state)
    : options_(options), store_(store), state_(std::move(state)) {}

Relay::~Relay() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool Relay::stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void Relay::RequestReplay(uint64_t from) {
  from = std::max<uint64_t>(from, 1);
  absl::MutexLock lock(&mu_);
  replay_from_ = std::min(replay_from_.value_or(UINT64_MAX), from);
}

void Relay::NotifyApplied() { applied_notifier_.Notify(); }

Relay::Stats Relay::GetStats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

namespace {

absl::StatusOr<uint64_t> ReadCheckpoint(eventstore::EventStore& store, const char* key) {
  absl::StatusOr<std::optional<std::string>> value = store.Get(eventstore::kCheckpointsCf, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return 0;
  if ((*value)->size() < 8) {
    return absl::DataLossError(absl::StrCat("checkpoint ", key, " is not 8 bytes"));
  }
  return eventstore::DecodeBigEndian64(**value);
}

}  // namespace

absl::Status Relay::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return absl::FailedPreconditionError("relay already started");
  absl::StatusOr<uint64_t> delivered = ReadCheckpoint(store_, kRelayDeliveredKey);
  if (!delivered.ok()) return delivered.status();
  absl::StatusOr<uint64_t> low_watermark = ReadCheckpoint(store_, kRelayLowWatermarkKey);
  if (!low_watermark.ok()) return low_watermark.status();

  internal::RelayState& s = *state_;
  s.cursor = (options_.embedded ? *low_watermark : *delivered) + 1;
  s.delivered = internal::DeliveredTracker(std::max(*delivered, s.cursor - 1));
  s.last_w = s.cursor - 1;
  s.last_w_change = absl::Now();
  SURGE_LOG(INFO, kComponent) << (options_.embedded ? "embedded" : "external")
                              << " mode: starting at position " << s.cursor << " (delivered "
                              << *delivered << ", low watermark " << *low_watermark << ")";
  stats_.next_position = s.cursor;
  stats_.delivered_position = s.delivered.mark();
  stats_.low_watermark = s.cursor - 1;
  started_ = true;
  thread_ = std::thread([this] {
    SetCurrentThreadName("surge-relay");
    Run();
  });
  return absl::OkStatus();
}

namespace {

// The relay thread's steps over the thread-owned state (one instance per Run()).
class Loop {
 public:
  Loop(const Relay::Options& options, eventstore::EventStore& store, internal::RelayState& s,
       const Notifier& applied_notifier)
      : options_(options), store_(store), s_(s), applied_notifier_(applied_notifier) {}

  uint64_t LowWatermark() const { return s_.watermarks.LowWatermark(s_.cursor); }

  void Rewind(uint64_t target, absl::string_view reason) {
    target = std::max<uint64_t>(target, 1);
    SURGE_LOG(WARNING, kComponent)
        << "rewinding from " << s_.cursor << " to " << target << ": " << reason;
    s_.watermarks.Rewind(target);
    std::fill(s_.prev.begin(), s_.prev.end(), 0);
    s_.cursor = target;
    ++s_.rewinds;
    s_.last_w = LowWatermark();
    s_.last_w_change = absl::Now();
  }

  void BackOff() {
    ++s_.consecutive_errors;
    absl::Duration delay = options_.backoff_min;
    for (int i = 1; i < s_.consecutive_errors && delay < options_.backoff_max; ++i) delay *= 2;
    s_.backoff_until = absl::Now() + std::min(delay, options_.backoff_max);
  }

  void HandleFatal() {
    if (!s_.fatal && s_.producer != nullptr) return;
    if (s_.producer != nullptr) {
      char reason[512] = {0};
      rd_kafka_fatal_error(s_.producer.get(), reason, sizeof(reason));
      SURGE_LOG(ERROR, kComponent) << "producer fatal error, recreating it: " << reason;
      rd_kafka_purge(s_.producer.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(s_.producer.get(), 0);
      s_.producer.reset();
    }
    s_.fatal = false;
    absl::StatusOr<internal::ClientHandle> producer = MakeProducer(options_, &s_);
    if (!producer.ok()) {
      ++s_.errors;
      SURGE_LOG(ERROR, kComponent) << "cannot recreate producer: " << producer.status();
      BackOff();
      return;
    }
    s_.producer = std::move(*producer);
    s_.failed_min.reset();
    Rewind(std::min(s_.cursor, s_.delivered.mark() + 1), "new producer");
  }

  void RefreshApplied(bool force) {
    const uint64_t seq = applied_notifier_.sequence();
    const absl::Time now = absl::Now();
    if (!force && seq == s_.applied_seen_seq &&
        (now < s_.next_applied_poll || s_.watermarks.unapplied() == 0)) {
      // Nothing new announced, and either polled recently or nothing
      // produced is waiting to be applied (an idle relay re-reads nothing).
      return;
    }
    s_.applied_seen_seq = seq;
    s_.next_applied_poll = now + options_.applied_poll_interval;
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> rows = ReadApplied(force, now);
    if (!rows.ok()) {
      ++s_.errors;
      SURGE_LOG(WARNING, kComponent) << "cannot read applied checkpoints: " << rows.status();
      return;
    }
    s_.applied = internal::LowestAppliedPositions(*rows, s_.topics, options_.partitions);
    for (size_t slot = 0; slot < s_.slots; ++slot) s_.watermarks.OnApplied(slot, s_.applied[slot]);
  }

  // The applied checkpoint rows: a prefix scan when due, else one point
  // lookup per key the last scan found (a checkpoint row is never deleted).
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadApplied(bool force,
                                                                               absl::Time now) {
    if (force || s_.applied_keys.empty() || now >= s_.next_applied_rescan) {
      s_.next_applied_rescan = now + kAppliedRescanInterval;
      absl::StatusOr<std::vector<std::pair<std::string, std::string>>> rows =
          store_.Scan(eventstore::kCheckpointsCf, kAppliedPrefix, kMaxCheckpointRows);
      if (rows.ok()) {
        s_.applied_keys.clear();
        for (const auto& [key, value] : *rows) s_.applied_keys.push_back(key);
      }
      return rows;
    }
    std::vector<std::pair<std::string, std::string>> rows;
    rows.reserve(s_.applied_keys.size());
    for (const std::string& key : s_.applied_keys) {
      absl::StatusOr<std::optional<std::string>> value =
          store_.Get(eventstore::kCheckpointsCf, key);
      if (!value.ok()) return value.status();
      if (value->has_value()) rows.emplace_back(key, **value);
    }
    return rows;
  }

  void PersistCheckpoints(bool force) {
    if (!force && absl::Now() < s_.next_checkpoint) return;
    s_.next_checkpoint = absl::Now() + options_.checkpoint_interval;
    const uint64_t delivered = s_.delivered.mark();
    const uint64_t w = LowWatermark();
    if (delivered == s_.persisted_delivered && w == s_.persisted_w) return;
    eventstore::AppendRequest request;
    request.extra_writes.push_back(
        {eventstore::kCheckpointsCf, kRelayDeliveredKey, eventstore::EncodeBigEndian64(delivered)});
    request.extra_writes.push_back(
        {eventstore::kCheckpointsCf, kRelayLowWatermarkKey, eventstore::EncodeBigEndian64(w)});
    absl::StatusOr<eventstore::AppendResult> result = store_.Append(std::move(request));
    if (!result.ok()) {
      ++s_.errors;
      SURGE_LOG(WARNING, kComponent) << "cannot persist relay checkpoints: " << result.status();
      return;
    }
    s_.persisted_delivered = delivered;
    s_.persisted_w = w;
  }

  // Produces one event. Returns the librdkafka error (QUEUE_FULL is
  // transient: poll and retry).
  rd_kafka_resp_err_t Produce(const v1::Event& event, const Route& route, size_t slot,
                              int32_t partition) {
    std::string value;
    event.SerializeToString(&value);
    internal::HeadersHandle headers(rd_kafka_headers_new(6));
    auto add = [&](const char* name, const std::string& v) {
      rd_kafka_header_add(headers.get(), name, -1, v.data(), static_cast<ssize_t>(v.size()));
    };
    add(kEventTypeHeader, EventTypeName(event));
    add(kEventIdHeader, event.event_id());
    add(kPositionHeader, absl::StrCat(event.position()));
    add(kNodeHeader, event.node_id());
    add(kOriginHeader, options_.origin.empty() ? event.node_id() : options_.origin);
    add(kPrevPositionHeader, absl::StrCat(s_.prev[slot]));
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        s_.producer.get(), RD_KAFKA_V_TOPIC(route.topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(route.key.data(), route.key.size()),
        RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_HEADERS(headers.get()),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(event.position()))),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      headers.release();  // librdkafka owns them now
      if (s_.watch != nullptr) s_.watch->OnProduced(route.topic);
    }
    return err;
  }

  // Marks a position as done without producing it.
  void Skip(uint64_t position) {
    s_.delivered.MarkDelivered(position);
    ++s_.skipped;
    s_.cursor = position + 1;
  }

  // Reads and produces up to `limit` (inclusive).
  void ProduceBatch(uint64_t limit) {
    const size_t count =
        static_cast<size_t>(std::min<uint64_t>(options_.read_batch, limit - s_.cursor + 1));
    absl::StatusOr<std::vector<v1::Event>> events = store_.ReadAll(s_.cursor, count);
    if (!events.ok()) {
      ++s_.errors;
      SURGE_LOG(WARNING, kComponent)
          << "cannot read the log at " << s_.cursor << ": " << events.status();
      BackOff();
      return;
    }
    const int32_t partitions = options_.partitions;
    for (const v1::Event& event : *events) {
      const uint64_t position = event.position();
      if (position < s_.cursor) continue;
      if (position > s_.cursor) {
        // The log is contiguous by contract; never wait for a hole forever.
        SURGE_LOG(ERROR, kComponent)
            << "log hole: expected position " << s_.cursor << ", got " << position;
        for (uint64_t p = s_.cursor; p < position; ++p) Skip(p);
      }
      absl::StatusOr<Route> route = RouteEvent(event);
      if (!route.ok()) {
        SURGE_LOG(WARNING, kComponent) << "skipping unroutable event: " << route.status();
        Skip(position);
        continue;
      }
      const auto topic_index = static_cast<size_t>(
          std::find(s_.topics.begin(), s_.topics.end(), route->topic) - s_.topics.begin());
      const int32_t partition = PartitionFor(route->key, partitions);
      const size_t slot =
          topic_index * static_cast<size_t>(partitions) + static_cast<size_t>(partition);
      if (position <= s_.applied[slot]) {  // every consumer already has it
        Skip(position);
        continue;
      }
      const rd_kafka_resp_err_t err = Produce(event, *route, slot, partition);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(s_.producer.get(), ToMillis(kMaxWait));
        return;
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++s_.errors;
        SURGE_LOG(WARNING, kComponent)
            << internal::KafkaStatus(err, absl::StrCat("produce position ", position));
        BackOff();
        return;
      }
      s_.watermarks.OnProduced(slot, position);
      s_.prev[slot] = position;
      ++s_.produced;
      s_.cursor = position + 1;
    }
  }

 private:
  const Relay::Options& options_;
  eventstore::EventStore& store_;
  internal::RelayState& s_;
  const Notifier& applied_notifier_;
};

// The producer learns a topic's leaders on the first message to it, one
// metadata round trip later (librdkafka retries at
// topic.metadata.refresh.fast.interval.ms): the first order after a start
// took ~0.8 s to settle. Asking once for every event topic up front fills
// the metadata cache. Best effort, bounded; errors only cost that delay.
void WarmUpMetadata(rd_kafka_t* producer, const std::vector<std::string>& topics) {
  for (const std::string& name : topics) {
    internal::TopicHandle topic(rd_kafka_topic_new(producer, name.c_str(), nullptr));
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(producer, 0, topic.get(), &metadata, 2000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(metadata);
    }
  }
}

}  // namespace

void Relay::Run() {
  internal::RelayState& s = *state_;
  Loop loop(options_, store_, s, applied_notifier_);
  s.stall_wait = options_.stall_timeout;
  loop.RefreshApplied(/*force=*/true);
  WarmUpMetadata(s.producer.get(), s.topics);
  uint64_t reported_delivered = 0;
  auto publish = [&] {
    const uint64_t delivered = s.delivered.mark();
    if (delivered != reported_delivered && options_.on_delivered) {
      reported_delivered = delivered;
      options_.on_delivered(delivered);
    }
    absl::MutexLock lock(&mu_);
    stats_.produced = s.produced;
    stats_.skipped = s.skipped;
    stats_.delivered_position = s.delivered.mark();
    stats_.low_watermark = loop.LowWatermark();
    stats_.next_position = s.cursor;
    stats_.errors = s.errors;
    stats_.rewinds = s.rewinds;
    stats_.stall_rewinds = s.stall_rewinds;
    stats_.stall_wait = s.stall_wait;
    stats_.last_delivery = s.last_delivery;
  };

  while (!stopping()) {
    loop.HandleFatal();
    if (s.producer == nullptr) {
      absl::SleepFor(kMaxWait);  // recreation failed; HandleFatal backs off
      continue;
    }
    rd_kafka_poll(s.producer.get(), 0);  // delivery reports and errors

    if (s.failed_min.has_value()) {
      // Messages behind the failed one that librdkafka has not sent yet
      // would reach the partition before its re-produced copy: take them
      // back first (their reports fail them here), so every partition still
      // gets its positions in log order. Requests in flight were sent
      // before anything that failed after them.
      rd_kafka_purge(s.producer.get(), RD_KAFKA_PURGE_F_QUEUE);
      rd_kafka_poll(s.producer.get(), 0);
      const uint64_t target = *s.failed_min;
      s.failed_min.reset();
      if (target < s.cursor) {
        loop.Rewind(target, "delivery failed");
        loop.BackOff();
      }
    }
    std::optional<uint64_t> replay;
    {
      absl::MutexLock lock(&mu_);
      replay.swap(replay_from_);
    }
    if (replay.has_value()) {
      loop.Rewind(std::min(*replay, loop.LowWatermark() + 1), "replay requested");
    }

    loop.RefreshApplied(/*force=*/false);
    const uint64_t w = loop.LowWatermark();
    const absl::Time now = absl::Now();
    // The stall clock runs only while something produced is unapplied: an
    // idle relay is not stalled, and the first event after a quiet period
    // gets the full stall_timeout to be applied.
    if (w != s.last_w) s.stall_wait = options_.stall_timeout;  // progress: back to the start
    if (w != s.last_w || s.watermarks.unapplied() == 0) {
      s.last_w = w;
      s.last_w_change = now;
    } else if (s.watermarks.unapplied() > 0 && now - s.last_w_change >= s.stall_wait) {
      loop.Rewind(
          w + 1,
          absl::StrCat("low watermark stuck at ", w, " for ",
                       absl::FormatDuration(now - s.last_w_change), "; next stall rewind after ",
                       absl::FormatDuration(std::min(
                           s.stall_wait * 2,
                           std::max(options_.stall_timeout, options_.stall_timeout_max)))));
      s.stall_wait =
          std::min(s.stall_wait * 2, std::max(options_.stall_timeout, options_.stall_timeout_max));
      ++s.stall_rewinds;
    }
    loop.PersistCheckpoints(/*force=*/false);
    publish();

    if (now < s.backoff_until) {
      rd_kafka_poll(s.producer.get(), ToMillis(std::min(s.backoff_until - now, kMaxWait)));
      continue;
    }
    const uint64_t limit = loop.LowWatermark() + options_.window;
    if (s.cursor > limit) {
      // Window full: wait for the projections to apply.
      applied_notifier_.WaitPast(s.applied_seen_seq,
                                 now + std::min(options_.applied_poll_interval, kMaxWait));
      continue;
    }
    if (s.cursor > store_.HeadPosition()) {
      // Nothing to produce. With nothing in flight or unapplied either, the
      // relay is idle and only the log head can give it work: wait longer.
      const bool idle = s.watermarks.unapplied() == 0 && rd_kafka_outq_len(s.producer.get()) == 0;
      store_.WaitForHead(s.cursor, now + (idle ? kIdleWait : kMaxWait));
      continue;
    }
    loop.ProduceBatch(limit);
  }

  if (s.producer != nullptr) {
    const rd_kafka_resp_err_t err =
        rd_kafka_flush(s.producer.get(), ToMillis(options_.flush_timeout));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      SURGE_LOG(WARNING, kComponent)
          << "stopping with messages in flight: " << rd_kafka_outq_len(s.producer.get());
    }
  }
  loop.PersistCheckpoints(/*force=*/true);
  publish();
}

}  // namespace surge::kafka
