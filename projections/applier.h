// The exactly-once core of a projection: takes a batch of consumed messages
// of one topic, drops the ones already applied (per-partition log position),
// detects gaps (gap protocol), runs the projection's handler over an overlay
// state and commits the emitted events, the read-model rows and the new
// applied positions in ONE EventStore::Append. Messages that keep failing are
// dead-lettered: published through a DeadLetterPublisher, recorded as a
// v1::DeadLetter row and skipped (their position counts as applied), in one
// Append too.
//
//   ProjectionApplier applier(options, projection, *store, &publisher, replay_fn);
//   SURGE_ASSIGN_OR_RETURN(ProjectionApplier::BatchResult r, applier.ApplyBatch(messages));
//
// Kafka-free so it can be tested with a real store and a fake publisher; the
// ProjectionRunner feeds it from a consumer.
//
// Thread-safety: all methods are thread-safe. One mutex serialises batches
// and dead-letter replays, so a replay never races the consumer on the same
// rows. Borrows the projection, store and publisher, which must outlive it.
#ifndef SURGE_PROJECTIONS_APPLIER_H_
#define SURGE_PROJECTIONS_APPLIER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "projections/consumed_message.h"
#include "projections/dead_letter_publisher.h"
#include "projections/dead_letter_replayer.h"
#include "projections/projection.h"
#include "surge/v1/surge.pb.h"

namespace surge::projections {

class ProjectionApplier : public DeadLetterReplayer {
 public:
  struct Options {
    // --- behaviour ---
    // Name in the checkpoint keys (AppliedPositionKey). Empty = the
    // projection's name().
    std::string projection_name;
    // The topic consumed (checkpoint keys, dead-letter rows).
    std::string topic;
    // Handling attempts of one message before it is dead-lettered. A
    // message that cannot be decoded, or whose handler answers
    // INVALID_ARGUMENT, is dead-lettered at once (retrying cannot help).
    // Failed appends do not count: a store under pressure never turns good
    // messages into dead letters (they are retried until Stop()).
    int retry_attempts = 5;
    // A gap on a partition asks for a replay at most once per this period
    // unless the partition's applied position moved meanwhile.
    absl::Duration replay_request_interval = absl::Seconds(1);

    // --- timing ---
    // Capped exponential backoff between attempts (and between failed
    // dead-letter publications, which are retried until Stop()).
    absl::Duration backoff_min = absl::Milliseconds(20);
    absl::Duration backoff_max = absl::Seconds(1);
  };

  // What happened to a batch.
  struct BatchResult {
    size_t applied = 0;        // handled and committed
    size_t duplicates = 0;     // position at or below the partition's applied position
    size_t gaps = 0;           // skipped because earlier messages are missing
    size_t dead_lettered = 0;  // given up on
    size_t appends = 0;        // EventStore appends made (0 = nothing changed)
    size_t retries = 0;        // failed attempts (handling, append, dead-letter) tried again
    // For each new event of the batch (not a duplicate) that carries
    // recorded_at: how long ago it was committed to the log when the batch
    // reached the applier (relay + Kafka transit + waiting to be polled).
    std::vector<absl::Duration> event_ages;
    // The same age cut in two where the message also carries its Kafka
    // CreateTime (ConsumedMessage::produced_at): from the commit until the
    // relay produced it (relay_ages), and from then until the batch reached
    // the applier (kafka_ages: the producer's linger, the broker, the fetch
    // and the wait in the consumer's queue). Kafka timestamps are whole
    // milliseconds, so each part is off by up to 1 ms (never below zero).
    std::vector<absl::Duration> relay_ages;
    std::vector<absl::Duration> kafka_ages;
  };

  // What replaying a dead letter did.
  using ReplayResult = DeadLetterReplayer::Result;

  // `request_replay(from)` is called (under the applier's lock: keep it
  // short) when a gap shows that messages from log position `from` on were
  // lost; wire it to Relay::RequestReplay. May be empty.
  ProjectionApplier(Options options, Projection& projection, eventstore::EventStore& store,
                    DeadLetterPublisher* publisher, std::function<void(uint64_t)> request_replay);

  ProjectionApplier(const ProjectionApplier&) = delete;
  ProjectionApplier& operator=(const ProjectionApplier&) = delete;

  // Handles a batch (any partitions, in consumption order). Fails only when
  // the store cannot be read (checkpoints) or Stop() interrupted a retry
  // loop (CANCELLED); the batch's committed part stays committed and the
  // rest is redelivered and deduplicated later.
  absl::StatusOr<BatchResult> ApplyBatch(const std::vector<ConsumedMessage>& batch);

  // Asks for a replay from (lowest applied position of `partitions`) + 1,
  // e.g. after the consumer's offset was out of range.
  absl::Status RequestReplayFromApplied(const std::vector<int32_t>& partitions);

  // Runs a dead letter's original bytes through the handler again. NOT_FOUND
  // for an unknown id; the handler's error when it still fails (the row is
  // left as is); applied=false when the row was already replayed.
  absl::StatusOr<ReplayResult> ReplayDeadLetter(const std::string& id) override;

  // The applied position of a partition (loaded from the store if needed).
  absl::StatusOr<uint64_t> Applied(int32_t partition);

  // Makes backoff waits return at once and retry loops give up.
  void Stop() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
  }

  const std::string& topic() const { return options_.topic; }
  const std::string& projection_name() const { return options_.projection_name; }

 private:
  struct Item;  // one classified message

  absl::StatusOr<uint64_t> AppliedLocked(int32_t partition) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeRequestReplay(int32_t partition, uint64_t applied) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits the overlay's writes, `events` and the applied positions in one
  // append; then moves applied_.
  absl::Status Commit(OverlayState& state, std::vector<v1::Event> events,
                      const std::map<int32_t, uint64_t>& positions, BatchResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One handling attempt of one message, committed on its own.
  // `store_failed` tells a failed append apart from a handler error.
  absl::Status ApplyOne(const Item& item, BatchResult& result, bool& store_failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Retries ApplyOne with backoff, then dead-letters. Handler errors count
  // towards Options::retry_attempts; append errors are retried until Stop().
  absl::Status ApplyWithRetries(const Item& item, BatchResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DeadLetter(const Item& item, const DeliveryFailure& failure, BatchResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // False when Stop() was called during the wait.
  bool Backoff(int attempt);

  const Options options_;
  Projection& projection_;
  eventstore::EventStore& store_;
  DeadLetterPublisher* const publisher_;
  const std::function<void(uint64_t)> request_replay_;
  EventStoreStateReader store_reader_;
  absl::Notification stop_;

  absl::Mutex mu_;
  // partition -> highest log position applied (or skipped as dead letter).
  std::map<int32_t, uint64_t> applied_ ABSL_GUARDED_BY(mu_);
  // partition -> (applied position, time) of the last replay request.
  std::map<int32_t, std::pair<uint64_t, absl::Time>> last_replay_request_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_APPLIER_H_
