// Runs one projection against one Kafka topic: a consumer that assigns
// itself every partition of the topic (single node: no group join), feeds
// batches to a ProjectionApplier (dedupe, gap protocol, one atomic append
// per batch, dead letters to "<topic>.dlt"), then commits the consumed
// offsets and reports progress.
//
//   ProjectionRunner::Options options;
//   options.bootstrap_servers = broker->bootstrap_servers();
//   options.topic = kafka::kStockTopic;
//   options.on_applied = [&] { notifier.Notify(); relay->NotifyApplied(); };
//   options.request_replay = [&](uint64_t from) { relay->RequestReplay(from); };
//   SURGE_ASSIGN_OR_RETURN(auto runner, ProjectionRunner::Create(options, stock, *store));
//   SURGE_RETURN_IF_ERROR(runner->Start());
//
// Offsets are only a hint: the applied positions in the store are the truth,
// so offsets are committed asynchronously after each durable append and
// their errors ignored; anything redelivered is deduplicated.
//
// Thread-safety: Create/Start/destruction from one thread; GetStats and
// applier() from any. One internal thread owns the consumer. Borrows the
// projection and the store, which must outlive the runner.
#ifndef SURGE_PROJECTIONS_RUNNER_H_
#define SURGE_PROJECTIONS_RUNNER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "kafka/produce_watch.h"
#include "projections/applier.h"
#include "projections/projection.h"

namespace surge::projections {

class ProjectionRunner {
 public:
  struct Options {
    // --- behaviour ---
    // librdkafka bootstrap.servers. Required.
    std::string bootstrap_servers;
    // The topic to consume (e.g. kafka::kStockTopic). Required.
    std::string topic;
    // Name in checkpoint keys; empty = the projection's name().
    std::string projection_name;
    // Consumer group: offsets are committed under it (partitions are
    // assigned, not balanced, so the group never rebalances).
    std::string group_id = "surge-projections";
    // Handling attempts of a message before it is dead-lettered.
    int retry_attempts = 5;
    // Raw librdkafka consumer settings applied over surge's (auto commit
    // and offset store off, auto.offset.reset=earliest, ...).
    std::map<std::string, std::string> consumer_config;
    // Raw librdkafka settings of the dead-letter producer.
    std::map<std::string, std::string> producer_config;
    // Called after every append that changed something (read models,
    // checkpoints, dead letters), on the runner thread; keep it short.
    // The server bumps its Notifier and calls Relay::NotifyApplied().
    std::function<void()> on_applied;
    // Called with a log position to re-relay from when messages were lost
    // (gap protocol, offset out of range). Wire to Relay::RequestReplay.
    std::function<void(uint64_t from_position)> request_replay;
    // Set when the relay that feeds the topic is its only producer (a single
    // node). The runner then pauses its partitions once it has consumed
    // everything the relay got delivered and nothing came for park_after,
    // and resumes them as soon as the relay produces again: an idle server
    // stops polling the broker. Null: poll all the time. Borrowed.
    const kafka::ProduceWatch* produce_watch = nullptr;
    // This node's log ("<node_id>~<id>", cluster/origin.h) when the topic
    // must hold only its events (a single node on a shared Kafka). A
    // message whose surge-origin header names another log means a second
    // node relays into the same topics without --cluster: the positions of
    // two logs would be taken for one, so the runner applies nothing from
    // then on (Stats::foreign_origin says why). A message labelled with the
    // bare node id (before the origin existed) counts as this node's.
    // Empty: no check.
    std::string origin;
    // Called once (on the runner thread) with the other log's origin when
    // such a message stopped the runner.
    std::function<void(const std::string& foreign_origin)> on_foreign_origin;

    // --- timing / performance ---
    // Most messages handled (and committed in one append) per batch. Larger
    // batches amortise the fsync; smaller ones lower latency under load.
    size_t max_batch = 500;
    // How long one poll waits for the first message of a batch. Also bounds
    // how quickly the runner notices Stop.
    absl::Duration poll_timeout = absl::Milliseconds(100);
    // With produce_watch: how long the runner polls without a message, all
    // delivered messages consumed, before it parks. Short enough that an
    // idle server parks at once; long enough that a busy one does not
    // pause and resume between two batches.
    absl::Duration park_after = absl::Milliseconds(20);
    // With produce_watch: the longest park. Then the runner fetches once
    // more (polls for kRecheck), so a message from any other producer (an
    // operator, a test) is still consumed within about this much.
    absl::Duration park_timeout = absl::Seconds(10);
    // Capped exponential backoff between attempts of a failing message.
    absl::Duration backoff_min = absl::Milliseconds(20);
    absl::Duration backoff_max = absl::Seconds(1);
    // Bound on waiting for the topic's metadata at Start.
    absl::Duration metadata_timeout = absl::Seconds(10);
    // Bound on one dead-letter publication (retried until it succeeds).
    absl::Duration dead_letter_timeout = absl::Seconds(10);
  };

  // Buckets of the event_ages and batch_seconds histograms (see kSecondsBounds).
  static constexpr size_t kSecondsBuckets = 14;

  // Durations counted into the kSecondsBounds buckets.
  struct SecondsHistogram {
    std::array<uint64_t, kSecondsBuckets + 1> counts{};  // last entry: above every bound
    double sum = 0;                                      // seconds
    void Add(absl::Duration d);                          // negative counts as zero
  };

  // Counters for metrics and tests. Thread-safe snapshot.
  struct Stats {
    uint64_t batches = 0;
    uint64_t applied = 0;
    uint64_t duplicates = 0;
    uint64_t gaps = 0;
    uint64_t dead_lettered = 0;
    uint64_t consumer_errors = 0;
    // Highest log position applied (or skipped as a dead letter) on any
    // partition: the projection's position for metrics and lag.
    uint64_t applied_position = 0;
    // Failed attempts tried again (handling, appends, dead-letter writes).
    uint64_t retries = 0;
    // Messages on the topic not consumed yet: the broker's high watermark
    // minus the consumer's position, summed over partitions (as last seen
    // by the consumer; refreshed every poll).
    uint64_t lag_messages = 0;
    // Times the runner paused its partitions because it was idle
    // (produce_watch), and whether it is paused now.
    uint64_t parks = 0;
    bool parked = false;
    // Set (with the other log's origin) when a message from another log
    // stopped the runner (Options::origin); it applies nothing after it.
    std::string foreign_origin;
    // Messages per handled batch, as per-bucket counts for a histogram:
    // batch_sizes[i] counts batches of (BatchSizeBound(i-1), BatchSizeBound(i)]
    // messages; the last entry counts batches above every bound.
    static constexpr size_t kBatchSizeBuckets = 14;  // bounds 1, 2, 4, ..., 8192
    std::array<uint64_t, kBatchSizeBuckets + 1> batch_sizes{};
    uint64_t consumed = 0;  // messages in all handled batches (the histogram's sum)
    // Durations as per-bucket counts over kSecondsBounds (last entry: above
    // every bound), with their sum in seconds:
    // - event_ages: per applied event, how long after its commit to the log
    //   it reached the projection (relay, Kafka, waiting to be polled): the
    //   transport's share of a command's settle latency;
    // - relay_ages and kafka_ages: the same age cut at the message's Kafka
    //   CreateTime, for events whose message carries one: commit → produced
    //   by the relay, and produced → reached the projection (see
    //   ProjectionApplier::BatchResult);
    // - batch_seconds: per batch, how long handling and committing it took
    //   (the projection's own share, its append's fsync included).
    SecondsHistogram event_ages;
    SecondsHistogram relay_ages;
    SecondsHistogram kafka_ages;
    SecondsHistogram batch_seconds;
  };

  // Upper bounds (seconds) of the event_ages and batch_seconds buckets.
  static constexpr std::array<double, kSecondsBuckets> kSecondsBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  // Index of the bucket counting `seconds` (kSecondsBuckets: above every bound).
  static size_t SecondsBucket(double seconds);

  // Upper bound of batch-size bucket `i` (< Stats::kBatchSizeBuckets): 2^i.
  static constexpr double BatchSizeBound(size_t i) { return static_cast<double>(1ULL << i); }

  // Validates options and creates the clients (no connection yet).
  // INVALID_ARGUMENT for missing fields or bad librdkafka settings.
  static absl::StatusOr<std::unique_ptr<ProjectionRunner>> Create(const Options& options,
                                                                  Projection& projection,
                                                                  eventstore::EventStore& store);
  ProjectionRunner(const ProjectionRunner&) = delete;
  ProjectionRunner& operator=(const ProjectionRunner&) = delete;
  // Stops the thread (a batch in progress finishes its current append or
  // backoff) and closes the consumer.
  ~ProjectionRunner();

  // Reads the topic's partitions (bounded wait), assigns them all at their
  // committed offsets and starts the thread. DEADLINE_EXCEEDED when the
  // topic's metadata never came; FAILED_PRECONDITION when already started.
  absl::Status Start();

  // The partitions assigned by Start().
  std::vector<int32_t> partitions() const;
  // The core, e.g. for dead-letter replays (DeadLetters).
  ProjectionApplier& applier() { return *applier_; }
  Stats GetStats() const;
  // Blocks until `done(stats)` holds or `deadline` passes; true when it
  // held. For tests and orderly shutdown, without polling.
  bool AwaitStats(const std::function<bool(const Stats&)>& done, absl::Time deadline) const;

 private:
  struct Kafka;  // the consumer and publisher (librdkafka stays out of this header)

  ProjectionRunner(const Options& options, std::unique_ptr<Kafka> kafka,
                   std::unique_ptr<ProjectionApplier> applier);
  void Run();
  void HandleBatch(std::vector<ConsumedMessage>& batch);
  // Recomputes Stats::lag_messages from librdkafka's cached watermarks.
  void UpdateLag();
  // With a produce_watch, when everything delivered is consumed: pauses
  // the partitions until the relay produces (or park_timeout, or Stop).
  // Returns true when it parked and the relay's produce woke it.
  bool MaybePark();
  bool stopping() const;
  // Options::origin: the origin of the first message in `batch` from
  // another log, or "".
  std::string ForeignOrigin(const std::vector<ConsumedMessage>& batch) const;

  const Options options_;
  std::unique_ptr<Kafka> kafka_;
  std::unique_ptr<ProjectionApplier> applier_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int32_t> partitions_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  // Owned by the runner thread: per partition, the offset after the last
  // message polled. Kept here rather than asked of librdkafka, whose
  // position() forgets it on a seek.
  std::map<int32_t, int64_t> next_offsets_;
  std::thread thread_;
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_RUNNER_H_
