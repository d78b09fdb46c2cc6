// A decider: one projection (stock, order saga, coupons) run in a Kafka
// consumer group, so that each partition of its input topic is decided by
// exactly one live node. The partition's state lives in memory and is
// mirrored, batch by batch, to "<topic>.changelog"; a node that gains a
// partition restores it from there before it decides anything, and resumes
// at the input offset the restored state reflects (not at the group's
// committed offset: a decider commits none).
//
//   Decider::Options options;
//   options.bootstrap_servers = "127.0.0.1:9092";
//   options.topic = kafka::kCouponsTopic;
//   options.node_id = "n1";
//   options.origin = "n1~0123456789abcdef";
//   SURGE_ASSIGN_OR_RETURN(auto decider, Decider::Create(options, coupons, *store));
//   SURGE_RETURN_IF_ERROR(decider->Start());
//
// Exactly-once effects without Kafka transactions: a decision is a
// deterministic function of the partition's state and its input sequence,
// and its events get ids derived from the input (origin, position), so a
// decision made twice (after a handoff, or by a paused node that lost its
// partition: a zombie) is the same event with the same id. Inputs are
// deduplicated per (origin, position) through marks kept in the state, and
// the changelog is a chain (ExtendsChain in partition_state.h): a record
// counts only when it extends the state past the offset reached, so a
// zombie's late records are ignored by everyone who restores.
//
// Per batch, in this order: dead letters published, then one local
// EventStore::Append (decision events + dead-letter rows), and the in-memory
// states move; then (Finish) a wait until the relay has delivered those
// events to Kafka, then the changelog records (acks=all, waited for). So the
// changelog never says a decision was made that Kafka does not hold, even
// if the node dies with its disk; a crash before the changelog record costs
// a re-decision of the same batch by the next owner: the same events again,
// which every consumer tolerates. Pipelined: batch k is decided and
// appended before batch k-1 is finished, so k's events are on their way
// while k-1's record is written; records are still written in batch order,
// each after its own events are in Kafka, and a snapshot is taken only
// with nothing in flight. A rebalance finishes the batch in flight first.
//
// Thread-safety: Create/Start/Stop/destruction from one thread; owned() and
// GetStats() from any. One internal thread owns the consumer, the producers
// and the partition states (rebalance callbacks run on it, inside poll).
// Borrows the projection and the store, which must outlive it.
#ifndef SURGE_CLUSTER_DECIDER_H_
#define SURGE_CLUSTER_DECIDER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "cluster/cluster.pb.h"
#include "cluster/partition_state.h"
#include "eventstore/event_store.h"
#include "projections/consumed_message.h"
#include "projections/dead_letter_replayer.h"
#include "projections/projection.h"
#include "projections/runner.h"

namespace surge::cluster {

class Decider : public projections::DeadLetterReplayer {
 public:
  struct Options {
    // --- behaviour ---
    // librdkafka bootstrap.servers. Required.
    std::string bootstrap_servers;
    // The input topic (kafka::kStockTopic, ...). Required. Its changelog is
    // kafka::ChangelogTopic(topic), with the same partition count.
    std::string topic;
    // This node's id (changelog records, logs) and its log's origin (a gap
    // in its own events asks the local relay for a replay). Required.
    std::string node_id;
    std::string origin;
    // Consumer group; empty = "surge-decider-<projection name>".
    std::string group_id;
    // librdkafka session.timeout.ms: how long a silent member keeps its
    // partitions. 45 s is Kafka's default and suits a real cluster; tests
    // use 6 s, the least a broker accepts by default
    // (group.min.session.timeout.ms; a member asking for less never joins),
    // and the mock broker waits session.timeout.ms - 1 s in every rebalance.
    int session_timeout_ms = 45000;
    // partition.assignment.strategy. Every member of a group must use the
    // same one (the mock broker aborts on a mismatch). "cooperative-sticky"
    // moves only the partitions that change owner: the others keep their
    // state and go on being decided through the rebalance. Eager "range"
    // revokes everything at every rebalance (each partition is then taken
    // up again from the warm standby).
    std::string assignment_strategy = "range";
    // Raw librdkafka settings applied over surge's: consumer_config to the
    // group consumer and the restorer, producer_config to the changelog,
    // dead-letter and replay producers.
    std::map<std::string, std::string> consumer_config;
    std::map<std::string, std::string> producer_config;
    // Called (on the decider thread) after partitions were gained or lost.
    std::function<void()> on_ownership_changed;
    // Blocks until every position <= `position` of this node's log is in
    // Kafka (the relay delivered it) or `deadline` passes; true when it is.
    // The decider waits for its decision events before it writes the
    // changelog record that says they were made: a node that dies with its
    // disk after the record would otherwise leave state without the events.
    // Empty: no wait (tests of the decider alone).
    std::function<bool(uint64_t position, absl::Time deadline)> await_delivered;
    // The warm standby of an input partition's state on this node (the
    // view's copy, View::Warm), or nullopt. A gained partition starts from
    // it and reads only the changelog records written since, instead of a
    // snapshot and its tail. Empty: always restore from the changelog.
    std::function<std::optional<WarmState>(int32_t partition)> standby;
    // Called with a log position when a gap shows that this node's own
    // events from there on were lost in transit (wire to Relay::RequestReplay).
    std::function<void(uint64_t from_position)> request_replay;

    // --- timing / performance ---
    // Most input messages per batch (one append and one changelog record
    // per partition per batch).
    size_t max_batch = 500;
    absl::Duration poll_timeout = absl::Milliseconds(100);
    // Capped exponential backoff while the store, the changelog or the
    // dead-letter topic refuse a write (retried until they succeed or Stop).
    absl::Duration backoff_min = absl::Milliseconds(50);
    absl::Duration backoff_max = absl::Seconds(2);
    // One attempt to produce the batch's changelog records.
    absl::Duration changelog_timeout = absl::Seconds(10);
    // A restore attempt fails when a watermark query takes longer than this,
    // or when no changelog record arrives for this long (a restore that
    // progresses goes on, however long the changelog).
    absl::Duration restore_attempt_timeout = absl::Seconds(30);

    // --- snapshots (bounded restores, finite changelog retention) ---
    // A partition's state is written whole to its changelog (a snapshot,
    // in chunks) once this many records, or this many bytes of records,
    // went into it since the last one, and not before the records since
    // then weigh half the state (so a large state is not rewritten after
    // every small interval). A restore reads the latest complete snapshot
    // and the records after it. The changelog's retention must keep about
    // two snapshots plus one interval (README, "Running a cluster");
    // the dev broker keeps 5 MiB per partition. Both 0: no snapshots, and
    // a restore needs the whole changelog from offset 0.
    uint64_t snapshot_interval_records = 200;
    uint64_t snapshot_interval_bytes = 1 << 20;
    // Rows per snapshot chunk, in bytes: below Kafka's default
    // message.max.bytes (1 MB) with room for the record's framing.
    size_t snapshot_chunk_bytes = 512 << 10;
    // A partition with records since its last snapshot and no new record
    // for this long is snapshotted too (when snapshots are on). A view that
    // fell behind the changelog's retention (its chain broke: a busy node,
    // a late joiner, a lost disk) brings its rows up to date only at a
    // snapshot past the break; after a sale's last burst no interval
    // snapshot would come, and that node would answer PENDING for decided
    // requests until the next traffic. Zero: only interval snapshots.
    absl::Duration snapshot_when_idle = absl::Seconds(2);
  };

  struct OwnedPartition {
    int32_t partition = 0;
    int64_t epoch = 0;
    // Owned but not decided: its changelog lost its first records (see
    // Stats::blocked_partitions).
    bool blocked = false;
    // The latest complete snapshot of the partition (written by this node,
    // or the one its restore used): when it was written (0: none) and its
    // size in the changelog.
    int64_t snapshot_unix_ms = 0;
    uint64_t snapshot_bytes = 0;
    uint64_t state_bytes = 0;  // rows of the state, as a snapshot would hold them
  };

  // Where a restored state came from: this node's warm standby and the
  // records since, a snapshot and its tail, or the changelog from offset 0.
  enum RestoreSource { kStandby = 0, kSnapshot = 1, kChangelog = 2 };
  static constexpr std::array<const char*, 3> kRestoreSourceNames = {"standby", "snapshot",
                                                                     "changelog"};

  static constexpr std::array<double, 12> kRestoreSecondsBounds = {
      0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  struct Stats {
    uint64_t rebalances = 0;  // assignments and revocations served
    uint64_t restores = 0;    // partitions restored
    uint64_t restores_from_snapshot = 0;  // of which from a snapshot
    uint64_t restores_from_standby = 0;   // of which from this node's warm standby
    // Records read after the snapshot used (all, without one), and the
    // snapshots' bytes read.
    uint64_t restored_records = 0;
    uint64_t restored_record_bytes = 0;
    uint64_t restored_snapshot_bytes = 0;
    uint64_t restored_keys = 0;  // rows in the restored states
    // restore_seconds[i] counts restores <= kRestoreSecondsBounds[i]
    // (last entry: above every bound), with their sum; the same split by
    // where the state came from (RestoreSource).
    std::array<uint64_t, kRestoreSecondsBounds.size() + 1> restore_seconds{};
    double restore_seconds_sum = 0;
    struct RestoreHistogram {
      std::array<uint64_t, kRestoreSecondsBounds.size() + 1> counts{};
      double sum = 0;
    };
    std::array<RestoreHistogram, 3> restore_seconds_by_source{};
    uint64_t batches = 0;
    uint64_t applied = 0;     // inputs decided
    uint64_t duplicates = 0;  // inputs at or below their origin's mark
    uint64_t gaps = 0;        // inputs skipped: earlier ones of their origin missing
    uint64_t dead_lettered = 0;
    uint64_t changelog_records = 0;
    uint64_t snapshots = 0;          // complete snapshots written
    uint64_t snapshot_bytes = 0;     // their bytes
    uint64_t snapshot_failures = 0;  // snapshots not acknowledged whole (tried again)
    uint64_t retries = 0;     // failed writes tried again
    uint64_t state_keys = 0;  // rows in the owned partitions' states
    // Input messages of the owned, decided partitions not decided yet: each
    // partition's high watermark (as the consumer's last fetch saw it)
    // minus the input offset its state reflects, computed when GetStats is
    // called. 0 while nothing is owned.
    uint64_t input_lag_messages = 0;
    // Sum over the owned partitions of the input offset their state
    // reflects: moves whenever a batch is decided.
    uint64_t input_offsets = 0;
    // How far behind in time: over the owned, decided partitions with
    // input lag, the longest since the last input decided there was
    // committed to its log (since the partition was gained, when none was
    // decided yet). 0 when every partition is caught up.
    double input_lag_seconds = 0;
    // Per decided input: time from its commit to its origin's log until
    // this decider decided it (relay, Kafka, waiting for a batch): the
    // decider's hop of the settle latency.
    projections::ProjectionRunner::SecondsHistogram event_ages;
    // Owned partitions this decider refuses to decide: their changelog
    // holds neither a complete snapshot nor the chain from offset 0
    // (retention deleted them), so the state it would restore is incomplete and its decisions could break the
    // invariants (a coupon issued past the quantity, stock taken twice).
    // Not consumed until a rebalance finds the changelog whole again.
    uint64_t blocked_partitions = 0;
  };

  // Validates options and creates the Kafka clients (no connection yet).
  static absl::StatusOr<std::unique_ptr<Decider>> Create(const Options& options,
                                                         projections::Projection& projection,
                                                         eventstore::EventStore& store);
  ~Decider();
  Decider(const Decider&) = delete;
  Decider& operator=(const Decider&) = delete;

  // Subscribes (joins the group) and starts the thread.
  absl::Status Start();
  // Leaves the group (its partitions are handed over at once instead of
  // after the session timeout) and joins the thread. Idempotent.
  void Stop();

  // Hands the dead letter `id` (a row this node's decider wrote) back to
  // whichever node owns its partition now: produces the original key and
  // bytes to the original input partition with the replay header (acks=all,
  // waited for), then marks the row replayed. The owner decides it once per
  // id, past the (origin, position) deduplication that counted the
  // original, with the handler it runs then; if that fails again, the
  // message is dead-lettered again, on the owner's node. NOT_FOUND for an
  // unknown id; FAILED_PRECONDITION for another topic's dead letter;
  // UNAVAILABLE (or Kafka's error) when Kafka does not take it within
  // changelog_timeout, the row left as it was; applied=false when the row
  // was replayed before. Any thread.
  absl::StatusOr<Result> ReplayDeadLetter(const std::string& id) override;

  const std::string& name() const { return name_; }
  const std::string& topic() const { return options_.topic; }
  std::vector<OwnedPartition> owned() const;
  Stats GetStats() const;

  // librdkafka's rebalance callback lands here (decider thread, inside
  // poll): `err` is an rd_kafka_resp_err_t, `partitions` the
  // rd_kafka_topic_partition_list_t (kept out of this header).
  void HandleRebalance(int err, void* partitions);

 private:
  struct Kafka;
  struct Owned;
  struct Item;
  struct InFlight;

  Decider(const Options& options, std::string name, projections::Projection& projection,
          eventstore::EventStore& store, std::unique_ptr<Kafka> kafka);
  void Run();
  bool stopping() const { return stop_.HasBeenNotified(); }
  bool Backoff(int attempt);
  // Rebalance callback work (decider thread, inside poll).
  // `incremental`: the cooperative protocol (only the partitions named
  // move); otherwise eager (all were revoked; an assignment is whole).
  void OnAssign(std::vector<int32_t> partitions, bool incremental);
  void OnRevoke(const std::vector<int32_t>& revoked, bool incremental);
  // Reads the changelog partitions into fresh states, all at once: each
  // from its latest complete snapshot (the pointer in its last record) and
  // the records after it. Retries until it succeeds; empty when stopping.
  std::map<int32_t, std::unique_ptr<Owned>> Restore(const std::vector<int32_t>& partitions);
  // Reads changelog partition -> [first, last] offsets with the restorer,
  // all at once, calling on_record(partition, offset, record, bytes) in
  // each partition's order. A deadline on progress
  // (restore_attempt_timeout); CANCELLED when stopping.
  absl::Status ReadChangelog(
      const std::map<int32_t, std::pair<int64_t, int64_t>>& ranges,
      const std::function<void(int32_t, int64_t, const ChangelogBatch&, size_t)>& on_record);
  bool SnapshotDue(const Owned& owned) const;
  // Adds to snapshot_due_ the partitions idle for snapshot_when_idle with
  // records since their last snapshot. Poll thread, nothing in flight.
  void MarkIdleSnapshotsDue();
  // Writes a snapshot of each partition in snapshot_due_ still owned (its
  // state as the changelog has it: nothing in flight) and moves their
  // pointers when every chunk was acknowledged in order.
  void WriteSnapshots();
  // Decides a batch on the states, appends its decision events (and dead
  // letters) to the local log and moves the states; nullptr when nothing
  // was decided (or stopping). Finish then waits for the relay to deliver
  // the events and writes the batch's changelog records (false: stopping).
  std::unique_ptr<InFlight> Decide(const std::vector<projections::ConsumedMessage>& batch);
  bool Finish(InFlight& batch);
  // Finishes the batch in flight, if any.
  bool Drain();
  void PublishOwned();
  // Copies each owned, decided partition's reflected input offset into
  // reflected_ (GetStats computes the lag from it).
  void PublishReflected();

  const Options options_;
  const std::string name_;
  projections::Projection& projection_;
  eventstore::EventStore& store_;
  std::unique_ptr<Kafka> kafka_;
  absl::Notification stop_;
  std::thread thread_;
  // Decider thread only.
  std::map<int32_t, std::unique_ptr<Owned>> partitions_;
  // The batch decided and appended whose changelog records are not written
  // yet (pipelining: at most one), and the partitions due for a snapshot.
  std::unique_ptr<InFlight> in_flight_;
  std::set<int32_t> snapshot_due_;
  bool ever_assigned_ = false;  // a rebalance gave this member its share
  // One replay at a time: a second call for the same id sees it replayed.
  absl::Mutex replay_mu_;

  mutable absl::Mutex mu_;
  std::vector<OwnedPartition> owned_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  // Owned, decided partition -> the input offset its state reflects, and
  // the commit time (unix ms) of the last input decided there (or when it
  // was gained). Read with the consumer's cached watermarks in GetStats,
  // from any thread, so the lag keeps growing while a batch is stuck (the
  // decider thread is then busy in it).
  struct Reflected {
    int64_t next_offset = 0;
    int64_t last_event_unix_ms = 0;
  };
  std::map<int32_t, Reflected> reflected_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::cluster

#endif  // SURGE_CLUSTER_DECIDER_H_
