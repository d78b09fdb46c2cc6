// The transactional-outbox relay: publishes every event of the log to Kafka,
// at least once, in log order per (topic, partition) (acks=all, one produce
// request in flight per broker connection, so retries cannot reorder; a
// retry may duplicate, and consumers skip positions they applied). The event
// log is the source of truth; Kafka is the transport.
//
//   Relay::Options options;
//   options.bootstrap_servers = broker->bootstrap_servers();
//   SURGE_ASSIGN_OR_RETURN(auto relay, Relay::Create(options, *store));
//   SURGE_RETURN_IF_ERROR(relay->Start());
//
// Each message: topic/key from RouteEvent, partition = PartitionFor(key)
// chosen here (so the relay knows where each position went), value = the
// serialized v1::Event, headers from kafka/topics.h including the gap
// protocol's surge-prev-position.
//
// Progress lives in the event store's checkpoints column family:
//  * relay/delivered — every position <= it was acknowledged by Kafka;
//  * relay/low_watermark — W: every position <= W is applied by the
//    projections (read from their applied/... checkpoints) or was skipped.
// In embedded mode (the in-memory, lossy mock broker) the relay starts at
// W+1, re-publishing whatever the projections have not applied; against a
// real Kafka it starts at relay/delivered+1. Either way it never produces a
// position that every consuming projection has already applied, and never
// runs more than Options::window positions ahead of W.
//
// Thread-safety: all public methods may be called from any thread. One
// internal thread (started by Start()) owns the producer and all relay
// state; the public methods only post requests to it or read a snapshot.
// The store is borrowed and must outlive the relay. The relay never blocks
// appends: it only reads the log and appends checkpoint-only batches.
#ifndef SURGE_KAFKA_RELAY_H_
#define SURGE_KAFKA_RELAY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/notifier.h"
#include "eventstore/event_store.h"
#include "kafka/produce_watch.h"

namespace surge::kafka {
namespace internal {
struct RelayState;  // relay-thread-owned state (producer, trackers, cursor)
}  // namespace internal

// checkpoints CF keys the relay owns (8-byte big-endian positions).
inline constexpr char kRelayDeliveredKey[] = "relay/delivered";
inline constexpr char kRelayLowWatermarkKey[] = "relay/low_watermark";

class Relay {
 public:
  struct Options {
    // --- behaviour ---
    // librdkafka bootstrap.servers. Required.
    std::string bootstrap_servers;
    // True when the broker is the embedded mock (memory only, drops old data):
    // start from the low watermark + 1 instead of relay/delivered + 1.
    bool embedded = true;
    // Partitions of each event topic; must equal the topics' real partition
    // count, since the relay picks partitions itself.
    int partitions = 6;
    // Most positions produced ahead of the low watermark W. Bounds what a
    // lagging consumer can lose to the mock broker's ~5 MiB/partition
    // retention: 20,000 events of ~200 bytes spread over 6 partitions stay
    // far below it.
    uint64_t window = 20000;
    // If W has not advanced for this long while produced positions are
    // unapplied, rewind to W+1 and re-produce (a lost message or a stuck
    // consumer would otherwise stall the flow forever). Re-producing is
    // safe: consumers deduplicate by position.
    absl::Duration stall_timeout = absl::Seconds(5);
    // Each stall rewind that did not move W doubles the wait before the
    // next one, up to this; W moving resets it to stall_timeout. A consumer
    // group in a rebalance (a cluster's partitions moving, a restore) stops
    // applying for as long as the rebalance lasts, which is no loss: at a
    // fixed 5 s the relays re-sent their whole window every 5 s meanwhile,
    // and the re-sent copies pushed what they repeat out of the mock broker's
    // bounded partitions. At most stall_timeout: no backoff.
    absl::Duration stall_timeout_max = absl::Seconds(60);
    // Written into every message's surge-origin header (see kafka/topics.h);
    // empty: the event's node_id.
    std::string origin;
    // Called on the relay thread whenever the delivered position (every
    // position <= it acknowledged by Kafka) moves; keep it short. The server
    // uses it for --ack=kafka.
    std::function<void(uint64_t delivered_position)> on_delivered;
    // Told of every message produced, delivered or failed, so idle
    // consumers can sleep instead of polling (see kafka/produce_watch.h).
    // Borrowed; must outlive the relay. Null: nobody is told.
    ProduceWatch* produce_watch = nullptr;
    // Raw librdkafka producer settings applied over surge's defaults
    // (acks=all, max.in.flight.requests.per.connection=1, linger.ms=1, ...).
    std::map<std::string, std::string> producer_config;

    // --- timing / performance ---
    // Capped exponential backoff while errors persist (failed deliveries,
    // store read errors).
    absl::Duration backoff_min = absl::Milliseconds(100);
    absl::Duration backoff_max = absl::Seconds(5);
    // How often the applied checkpoints are re-read when NotifyApplied() is
    // not called.
    absl::Duration applied_poll_interval = absl::Milliseconds(20);
    // How often relay/delivered and relay/low_watermark are persisted (when
    // changed): one checkpoint-only append per interval, not per message.
    absl::Duration checkpoint_interval = absl::Milliseconds(100);
    // Events read from the log per ReadAll.
    size_t read_batch = 512;
    // Bound on the final flush when the relay is destroyed.
    absl::Duration flush_timeout = absl::Seconds(5);
  };

  // Snapshot for metrics and tests.
  struct Stats {
    uint64_t produced = 0;            // messages handed to the producer (incl. re-produced)
    uint64_t skipped = 0;             // positions not produced (already applied, unroutable)
    uint64_t delivered_position = 0;  // relay/delivered
    uint64_t low_watermark = 0;       // W
    uint64_t next_position = 0;       // the cursor: next position to produce
    uint64_t errors = 0;              // failed deliveries, produce/read/checkpoint errors
    uint64_t rewinds = 0;             // replays, failure rewinds, stall rewinds
    uint64_t stall_rewinds = 0;       // of which stall rewinds
    absl::Duration stall_wait;        // the wait before the next stall rewind
    std::optional<absl::Time> last_delivery;  // last successful delivery report
  };

  // Validates options and creates the producer (no connection yet).
  // INVALID_ARGUMENT for bad options or producer settings.
  static absl::StatusOr<std::unique_ptr<Relay>> Create(const Options& options,
                                                       eventstore::EventStore& store);

  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  // Stops the thread, flushes in-flight messages (bounded by flush_timeout),
  // persists the checkpoints and joins.
  ~Relay();

  // Reads the checkpoints, picks the start position and spawns the relay
  // thread. FAILED_PRECONDITION when already started; store errors as is.
  absl::Status Start();

  // Gap repair, called by a consumer that found a gap: rewinds to
  // min(from, W+1), resets every partition's surge-prev-position chain to 0
  // and re-produces from there. Thread-safe, non-blocking.
  void RequestReplay(uint64_t from);

  // Tells the relay that applied checkpoints moved, so it re-reads them now
  // instead of at the next poll. Thread-safe, cheap.
  void NotifyApplied();

  Stats GetStats() const;

 private:
  Relay(const Options& options, eventstore::EventStore& store,
        std::unique_ptr<internal::RelayState> state);
  void Run();
  bool stopping() const;

  const Options options_;
  eventstore::EventStore& store_;
  std::unique_ptr<internal::RelayState> state_;  // touched only by the relay thread after Start()
  Notifier applied_notifier_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<uint64_t> replay_from_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace surge::kafka

#endif  // SURGE_KAFKA_RELAY_H_
