#include "projections/applier.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "projections/internal/big_endian.h"
#include "projections/read_models.h"

namespace surge::projections {
namespace {

ProjectionApplier::Options Defaulted(ProjectionApplier::Options options,
                                     const Projection& projection) {
  if (options.projection_name.empty()) options.projection_name = projection.name();
  return options;
}

bool Retryable(const absl::Status& status) {
  return status.code() != absl::StatusCode::kInvalidArgument;
}

}  // namespace

struct ProjectionApplier::Item {
  const ConsumedMessage* message = nullptr;
  std::optional<v1::Event> event;  // nullopt: undecodable
  std::string decode_error;
  std::optional<uint64_t> position;
};

ProjectionApplier::ProjectionApplier(Options options, Projection& projection,
                                     eventstore::EventStore& store, DeadLetterPublisher* publisher,
                                     std::function<void(uint64_t)> request_replay)
    : options_(Defaulted(std::move(options), projection)),
      projection_(projection),
      store_(store),
      publisher_(publisher),
      request_replay_(std::move(request_replay)),
      store_reader_(&store) {}

absl::StatusOr<uint64_t> ProjectionApplier::Applied(int32_t partition) {
  absl::MutexLock lock(&mu_);
  return AppliedLocked(partition);
}

absl::StatusOr<uint64_t> ProjectionApplier::AppliedLocked(int32_t partition) {
  auto it = applied_.find(partition);
  if (it != applied_.end()) return it->second;
  SURGE_ASSIGN_OR_RETURN(
      std::optional<std::string> stored,
      store_.Get(eventstore::kCheckpointsCf,
                 AppliedPositionKey(options_.projection_name, options_.topic, partition)));
  uint64_t applied = 0;
  if (stored.has_value()) {
    std::optional<uint64_t> decoded = internal::DecodeU64(*stored);
    if (!decoded.has_value()) {
      return absl::DataLossError(
          absl::StrCat("unreadable checkpoint of ", options_.topic, "/", partition));
    }
    applied = *decoded;
  }
  applied_[partition] = applied;
  return applied;
}

void ProjectionApplier::MaybeRequestReplay(int32_t partition, uint64_t applied) {
  const absl::Time now = absl::Now();
  auto it = last_replay_request_.find(partition);
  if (it != last_replay_request_.end() && it->second.first == applied &&
      now - it->second.second < options_.replay_request_interval) {
    return;  // already asked; the relay is re-sending
  }
  last_replay_request_[partition] = {applied, now};
  // Lost messages are trouble even though the relay repairs them.
  SURGE_LOG(WARNING, "projections")
      << options_.projection_name << ": gap on " << options_.topic << "/" << partition
      << " after position " << applied << ", asking for a replay";
  if (request_replay_) request_replay_(applied + 1);
}

absl::Status ProjectionApplier::RequestReplayFromApplied(const std::vector<int32_t>& partitions) {
  absl::MutexLock lock(&mu_);
  std::optional<uint64_t> lowest;
  for (int32_t p : partitions) {
    SURGE_ASSIGN_OR_RETURN(uint64_t applied, AppliedLocked(p));
    lowest = std::min(lowest.value_or(applied), applied);
  }
  if (lowest.has_value() && request_replay_) request_replay_(*lowest + 1);
  return absl::OkStatus();
}

absl::Status ProjectionApplier::Commit(OverlayState& state, std::vector<v1::Event> events,
                                       const std::map<int32_t, uint64_t>& positions,
                                       BatchResult& result) {
  eventstore::AppendRequest request;
  request.events = std::move(events);
  request.extra_writes = state.TakeWrites();
  std::map<int32_t, uint64_t> moved;
  for (const auto& [partition, position] : positions) {
    // Never move a checkpoint back: a dead letter may have skipped further.
    const uint64_t value = std::max(applied_[partition], position);
    moved[partition] = value;
    request.extra_writes.push_back(eventstore::ExtraWrite{
        eventstore::kCheckpointsCf,
        AppliedPositionKey(options_.projection_name, options_.topic, partition),
        internal::EncodeU64(value)});
  }
  SURGE_RETURN_IF_ERROR(store_.Append(std::move(request)).status());
  for (const auto& [partition, value] : moved) applied_[partition] = value;
  ++result.appends;
  return absl::OkStatus();
}

absl::Status ProjectionApplier::ApplyOne(const Item& item, BatchResult& result,
                                         bool& store_failed) {
  store_failed = false;
  OverlayState state(&store_reader_);
  SURGE_ASSIGN_OR_RETURN(std::vector<v1::Event> emitted, projection_.Handle(state, *item.event));
  std::map<int32_t, uint64_t> positions;
  if (item.position.has_value()) positions[item.message->partition] = *item.position;
  absl::Status status = Commit(state, std::move(emitted), positions, result);
  store_failed = !status.ok();
  return status;
}

bool ProjectionApplier::Backoff(int attempt) {
  absl::Duration wait = options_.backoff_min;
  for (int i = 1; i < attempt && wait < options_.backoff_max; ++i) wait *= 2;
  return !stop_.WaitForNotificationWithTimeout(std::min(wait, options_.backoff_max));
}

absl::Status ProjectionApplier::ApplyWithRetries(const Item& item, BatchResult& result) {
  DeliveryFailure failure;
  int store_failures = 0;
  for (int attempt = 1;; ++attempt) {
    bool store_failed = false;
    absl::Status status = ApplyOne(item, result, store_failed);
    if (status.ok()) {
      ++result.applied;
      return absl::OkStatus();
    }
    if (store_failed && status.code() != absl::StatusCode::kInvalidArgument) {
      // The store refused the append (queue full, disk trouble): not the
      // message's fault, so it is never dead-lettered for it; wait and retry.
      // (INVALID_ARGUMENT means the handler emitted something malformed.)
      SURGE_LOG(WARNING, "projections")
          << options_.projection_name << ": append failed, retrying: " << status;
      ++result.retries;
      if (!Backoff(++store_failures)) return absl::CancelledError("projection applier stopping");
      --attempt;
      continue;
    }
    if (attempt == 1) failure.first_failure_unix_ms = absl::ToUnixMillis(absl::Now());
    failure.attempts = attempt;
    failure.error = status.ToString();
    SURGE_LOG(WARNING, "projections")
        << options_.projection_name << ": " << options_.topic << "/" << item.message->partition
        << "@" << item.message->offset << " failed (attempt " << attempt << "): " << status;
    if (!Retryable(status) || attempt >= options_.retry_attempts) break;
    ++result.retries;
    if (!Backoff(attempt)) return absl::CancelledError("projection applier stopping");
  }
  return DeadLetter(item, failure, result);
}

absl::Status ProjectionApplier::DeadLetter(const Item& item, const DeliveryFailure& failure,
                                           BatchResult& result) {
  const ConsumedMessage& m = *item.message;
  if (publisher_ == nullptr) {
    return absl::FailedPreconditionError("no dead-letter publisher configured");
  }
  absl::StatusOr<DeadLetterCoordinates> where = publisher_->Publish(m, failure);
  // The broker may be down: keep trying, nothing after this message on its
  // partition is lost meanwhile (the consumer is simply stalled).
  for (int attempt = 1; !where.ok(); ++attempt) {
    SURGE_LOG(WARNING, "projections") << "dead-letter publication failed: " << where.status();
    ++result.retries;
    if (!Backoff(attempt)) return absl::CancelledError("projection applier stopping");
    where = publisher_->Publish(m, failure);
  }
  const v1::DeadLetter row = DeadLetterRow(m, failure, *where);
  std::map<int32_t, uint64_t> positions;
  if (item.position.has_value()) positions[m.partition] = *item.position;
  // The row is the durable record; retry its append like any other.
  for (int attempt = 1;; ++attempt) {
    OverlayState retry_state(&store_reader_);
    PutRow(retry_state, kDeadLettersCf, row.id(), row);
    absl::Status status = Commit(retry_state, {}, positions, result);
    if (status.ok()) break;
    SURGE_LOG(WARNING, "projections")
        << "recording dead letter " << row.id() << " failed: " << status;
    ++result.retries;
    if (!Backoff(attempt)) return absl::CancelledError("projection applier stopping");
  }
  SURGE_LOG(WARNING, "projections")
      << options_.projection_name << ": dead-lettered " << m.topic << "/" << m.partition << "@"
      << m.offset << " as " << row.id() << ": " << failure.error;
  ++result.dead_lettered;
  return absl::OkStatus();
}

absl::StatusOr<ProjectionApplier::BatchResult> ProjectionApplier::ApplyBatch(
    const std::vector<ConsumedMessage>& batch) {
  const absl::Time received = absl::Now();
  absl::MutexLock lock(&mu_);
  BatchResult result;
  result.event_ages.reserve(batch.size());
  result.relay_ages.reserve(batch.size());
  result.kafka_ages.reserve(batch.size());
  std::vector<Item> candidates;
  std::vector<std::pair<Item, DeliveryFailure>> undecodable;
  std::map<int32_t, uint64_t> tentative;  // applied positions as the batch goes
  for (const ConsumedMessage& m : batch) {
    if (!tentative.count(m.partition)) {
      SURGE_ASSIGN_OR_RETURN(tentative[m.partition], AppliedLocked(m.partition));
    }
    uint64_t& applied = tentative[m.partition];
    Item item;
    item.message = &m;
    item.position = m.position;
    v1::Event event;
    if (!event.ParseFromString(m.value)) {
      item.decode_error = "value is not a serialized surge.v1.Event";
    } else if (event.payload_case() == v1::Event::PAYLOAD_NOT_SET) {
      item.decode_error = "event has no payload this build knows";
    } else {
      if (!item.position.has_value() && event.position() > 0) item.position = event.position();
      item.event = std::move(event);
    }
    if (item.position.has_value() && *item.position <= applied) {
      ++result.duplicates;
      continue;
    }
    if (item.event.has_value() && item.event->has_recorded_at()) {
      const google::protobuf::Timestamp& t = item.event->recorded_at();
      const absl::Time recorded = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
      result.event_ages.push_back(received - recorded);
      if (m.produced_at.has_value()) {
        result.relay_ages.push_back(std::max(*m.produced_at - recorded, absl::ZeroDuration()));
        result.kafka_ages.push_back(std::max(received - *m.produced_at, absl::ZeroDuration()));
      }
    }
    if (m.prev_position.has_value() && *m.prev_position != 0 && *m.prev_position > applied) {
      ++result.gaps;
      MaybeRequestReplay(m.partition, applied);
      continue;
    }
    if (item.position.has_value()) applied = *item.position;
    if (!item.event.has_value()) {
      DeliveryFailure failure;
      failure.error = absl::StrCat("INVALID_ARGUMENT: ", item.decode_error);
      failure.attempts = 1;
      failure.first_failure_unix_ms = absl::ToUnixMillis(absl::Now());
      undecodable.emplace_back(std::move(item), failure);
      continue;
    }
    candidates.push_back(std::move(item));
  }

  // Fast path: the whole batch in one overlay and one append.
  bool batched = false;
  if (!candidates.empty()) {
    OverlayState state(&store_reader_);
    std::vector<v1::Event> emitted;
    std::map<int32_t, uint64_t> positions;
    absl::Status status;
    for (const Item& item : candidates) {
      absl::StatusOr<std::vector<v1::Event>> out = projection_.Handle(state, *item.event);
      if (!out.ok()) {
        status = out.status();
        break;
      }
      for (v1::Event& e : *out) emitted.push_back(std::move(e));
      if (item.position.has_value()) positions[item.message->partition] = *item.position;
    }
    if (status.ok()) status = Commit(state, std::move(emitted), positions, result);
    if (status.ok()) {
      batched = true;
      result.applied += candidates.size();
    } else {
      SURGE_LOG(INFO, "projections")
          << options_.projection_name << ": batch of " << candidates.size() << " failed (" << status
          << "), applying one by one";
    }
  }
  // Slow path: one message at a time, so retries never re-apply the good ones.
  if (!batched) {
    for (const Item& item : candidates) SURGE_RETURN_IF_ERROR(ApplyWithRetries(item, result));
  }
  for (const auto& [item, failure] : undecodable) {
    SURGE_RETURN_IF_ERROR(DeadLetter(item, failure, result));
  }
  return result;
}

absl::StatusOr<ProjectionApplier::ReplayResult> ProjectionApplier::ReplayDeadLetter(
    const std::string& id) {
  absl::MutexLock lock(&mu_);
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store_.Get(kDeadLettersCf, id));
  if (!bytes.has_value()) return absl::NotFoundError(absl::StrCat("no dead letter ", id));
  v1::DeadLetter row;
  if (!row.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("unreadable dead letter ", id));
  }
  if (row.replayed()) return ReplayResult{false, "already replayed"};
  v1::Event event;
  if (!event.ParseFromString(row.value()) || event.payload_case() == v1::Event::PAYLOAD_NOT_SET) {
    return absl::FailedPreconditionError(
        absl::StrCat("dead letter ", id, " is still not a decodable surge.v1.Event"));
  }
  OverlayState state(&store_reader_);
  absl::StatusOr<std::vector<v1::Event>> emitted = projection_.Handle(state, event);
  if (!emitted.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("dead letter ", id, " still fails: ", emitted.status().ToString()));
  }
  const size_t count = emitted->size();
  row.set_replayed(true);
  PutRow(state, kDeadLettersCf, id, row);
  BatchResult ignored;
  // Its position was already counted as applied when it was dead-lettered;
  // the row's replayed flag is what makes the replay happen once.
  SURGE_RETURN_IF_ERROR(Commit(state, std::move(*emitted), {}, ignored));
  return ReplayResult{true, absl::StrCat("applied; ", count, " event(s) emitted")};
}

}  // namespace surge::projections
