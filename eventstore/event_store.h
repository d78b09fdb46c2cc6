// surge's event log: an append-only, durable, totally ordered log of domain
// events in RocksDB, and the outbox the relay publishes to Kafka.
//
// Use it to append the events of a command atomically (with optimistic
// concurrency per stream and an idempotency key), to read the log by stream
// or from a global position, and to follow it live. Projections also use it
// to commit their read-model rows and checkpoints in the same batch as the
// events they emit (AppendRequest::extra_writes), which is what makes them
// exactly-once.
//
//   SURGE_ASSIGN_OR_RETURN(auto store, EventStore::Open(options, "/var/lib/surge"));
//   AppendRequest req; req.events.push_back(std::move(event));
//   SURGE_ASSIGN_OR_RETURN(AppendResult r, store->Append(std::move(req)));
//
// Thread-safety: every method may be called from any thread concurrently.
// Appends are serialised by one internal appender thread that groups many
// waiting appends into one synced RocksDB WriteBatch (group commit).
#ifndef SURGE_EVENTSTORE_EVENT_STORE_H_
#define SURGE_EVENTSTORE_EVENT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "surge/v1/events.pb.h"

namespace surge::eventstore {

// Expected stream versions. Stream versions start at 0.
inline constexpr int64_t kAnyVersion = -2;  // no check
inline constexpr int64_t kNoStream = -1;    // the stream must not exist yet

// Column families every store has. Read models add their own through
// Options::extra_column_families.
inline constexpr char kEventsCf[] = "events";            // position -> Event
inline constexpr char kStreamsCf[] = "streams";          // stream/version -> position
inline constexpr char kIdempotencyCf[] = "idempotency";  // key -> IdempotencyRecord
inline constexpr char kCheckpointsCf[] = "checkpoints";  // name -> value (relay, projections)

// The on-disk format this build reads and writes (the data dir's FORMAT file).
inline constexpr int kDataFormatVersion = 1;

enum class Durability {
  kSync,   // WAL fsync before any append is acknowledged (default).
  kAsync,  // WAL written, not synced: a machine crash may lose the last
           // acknowledged appends; a process crash loses nothing.
};

struct Options {
  // --- behaviour ---
  Durability durability = Durability::kSync;
  // Extra column families to create/open (read models). Unknown column
  // families already in the database are opened too, never dropped.
  std::vector<std::string> extra_column_families;
  // Written into every event (Event.node_id) and into generated event ids.
  std::string node_id = "node-1";
  // Prefix of generated event ids ("<prefix>:<position>"); empty: node_id.
  // Cluster mode uses the log's origin (node id + data-dir id), so a node
  // that lost its disk and starts over under the same id never reuses an
  // event id of its former log.
  std::string event_id_prefix;
  // Create the data dir when missing. The dir carries a FORMAT file; a
  // missing FORMAT in a non-empty dir, or another format version, is refused.
  bool create_if_missing = true;

  // --- performance ---
  // Appends waiting for the appender. When full, Append fails at once with
  // RESOURCE_EXHAUSTED (backpressure, not memory growth).
  size_t queue_capacity = 16384;
  // The same bound in estimated WriteBatch bytes, so that large appends
  // (100-line orders) cannot hold gigabytes while within the count.
  size_t queue_capacity_bytes = 64 << 20;
  // Most appends committed in one WriteBatch. Larger batches amortise the
  // fsync over more commands; smaller ones lower the latency of the first.
  size_t max_batch_appends = 2048;
  // Soft cap on one WriteBatch's bytes.
  size_t max_batch_bytes = 16 << 20;
  // RocksDB block cache shared by all column families. It holds the SSTs'
  // index and filter blocks too, so it bounds RocksDB's read-side memory
  // however long the log grows.
  size_t block_cache_bytes = 64 << 20;
  // RocksDB memtable size per column family.
  size_t write_buffer_bytes = 16 << 20;
  // Soft bound on the memtables of all column families together (RocksDB's
  // db_write_buffer_size): near it the memtables are flushed early, so
  // memory (and the WAL replayed after a crash) stays bounded however many
  // read-model column families there are. Writers never wait on it: a
  // burst faster than the flushes may overshoot it for a while. 0 = no bound
  // beyond write_buffer_bytes per column family.
  size_t total_write_buffer_bytes = 64 << 20;
};

// A write into another column family committed atomically with the events.
struct ExtraWrite {
  std::string column_family;
  std::string key;
  std::optional<std::string> value;  // nullopt deletes the key
};

struct AppendRequest {
  // Events to append, in order. Each needs stream_id and a payload; the store
  // assigns position, stream_version, recorded_at, node_id, and event_id when
  // empty. May be empty (an append of extra writes only).
  std::vector<v1::Event> events;
  // Expected current version per stream (kAnyVersion, kNoStream or >= 0),
  // checked before the first event of that stream. Streams not listed: any.
  // A mismatch fails the whole append with ABORTED (message names the stream
  // and its current version; see ConflictVersion) and writes nothing of it.
  std::map<std::string, int64_t> expected_versions;
  // Idempotency key (empty = none). A repeat answers the stored result with
  // duplicate=true and writes nothing, also after a restart.
  std::string idempotency_key;
  // Digest of the command. A repeat of idempotency_key with another
  // non-empty fingerprint fails with FAILED_PRECONDITION.
  std::string fingerprint;
  // Opaque bytes stored with the idempotency key and returned on a repeat,
  // so a command handler can answer a repeat identically (e.g. the order id).
  std::string reply;
  // Written in the same WriteBatch as the events.
  std::vector<ExtraWrite> extra_writes;
};

struct AppendResult {
  uint64_t first_position = 0;  // 0 when no events were appended
  uint64_t last_position = 0;
  std::vector<std::string> event_ids;
  std::string reply;       // AppendRequest::reply of the first append
  bool duplicate = false;  // true when answered from the idempotency key
};

// Pull-based live subscription: catch-up from a position, then tail. Each
// event is delivered exactly once, in position order, with no gap across
// the catch-up -> live handover. Not thread-safe (one consumer).
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Returns up to `max_events` events from the next position; waits up to
  // `timeout` when none is available (then returns an empty vector).
  // CANCELLED after Cancel() or when the store closes.
  virtual absl::StatusOr<std::vector<v1::Event>> Next(size_t max_events,
                                                      absl::Duration timeout) = 0;
  // Makes a blocked or later Next() return CANCELLED. Thread-safe.
  virtual void Cancel() = 0;
  virtual uint64_t next_position() const = 0;
};

class EventStore {
 public:
  using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;

  // Opens (creating when allowed) the store at `path`.
  // FAILED_PRECONDITION for a dir of another format; INTERNAL/UNAVAILABLE for
  // RocksDB errors.
  static absl::StatusOr<std::unique_ptr<EventStore>> Open(const Options& options,
                                                          const std::string& path);

  EventStore() = default;
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;
  // Drains the append queue (every queued append is committed and answered),
  // cancels subscriptions and closes RocksDB.
  virtual ~EventStore() = default;

  // Appends and blocks until durable (per Options::durability).
  // RESOURCE_EXHAUSTED when the queue is full; ABORTED on a version conflict;
  // FAILED_PRECONDITION on a fingerprint mismatch; UNAVAILABLE when the
  // disk refuses writes or the store is closing.
  virtual absl::StatusOr<AppendResult> Append(AppendRequest request) = 0;

  // Same, but answers on the appender thread through `done` (keep it short).
  // `done` is called exactly once, possibly before AppendAsync returns (e.g.
  // RESOURCE_EXHAUSTED).
  virtual void AppendAsync(AppendRequest request, AppendCallback done) = 0;

  // Events with position >= from_position (0 behaves as 1), at most
  // max_count, in order.
  virtual absl::StatusOr<std::vector<v1::Event>> ReadAll(uint64_t from_position,
                                                         size_t max_count) = 0;
  // Events of one stream with version >= from_version, at most max_count.
  virtual absl::StatusOr<std::vector<v1::Event>> ReadStream(const std::string& stream_id,
                                                            int64_t from_version,
                                                            size_t max_count) = 0;
  // Current version of a stream, kNoStream (-1) when it does not exist.
  virtual absl::StatusOr<int64_t> StreamVersion(const std::string& stream_id) = 0;

  // Position of the last durable event (0 for an empty log).
  virtual uint64_t HeadPosition() const = 0;
  // Blocks until HeadPosition() >= position or the deadline passes or the
  // store closes. Returns true when reached.
  virtual bool WaitForHead(uint64_t position, absl::Time deadline) const = 0;

  // Catch-up then live subscription from `from_position`.
  virtual std::unique_ptr<Subscription> Subscribe(uint64_t from_position) = 0;

  // Point read in any column family; nullopt when absent. NOT_FOUND for an
  // unknown column family.
  virtual absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                         const std::string& key) = 0;
  // Ordered scan of keys with `prefix` in a column family, at most `limit`.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      const std::string& cf, const std::string& prefix, size_t limit) = 0;

  // The stored answer for an idempotency key, nullopt when unknown.
  // The answer has duplicate = true, exactly as a repeated Append returns it.
  virtual absl::StatusOr<std::optional<AppendResult>> LookupIdempotencyKey(
      const std::string& key) = 0;

  // Counters for metrics and tests. Thread-safe snapshot.
  struct Stats {
    uint64_t batches = 0;  // WriteBatches committed
    uint64_t appends = 0;  // appends committed (not duplicates)
    uint64_t events = 0;   // events committed
    uint64_t rejected_queue_full = 0;
    // WriteBatches RocksDB refused (disk full, I/O error): every append in
    // them was answered UNAVAILABLE and nothing of them is in the log.
    uint64_t write_errors = 0;
    size_t queue_depth = 0;
    size_t last_batch_appends = 0;
    // RocksDB memtables of all column families (bounded by
    // Options::total_write_buffer_bytes, give or take one memtable).
    uint64_t memtable_bytes = 0;
    // RocksDB's block cache (bounded by Options::block_cache_bytes; data,
    // index and filter blocks) and what its SST readers hold outside it
    // (small: the readers themselves).
    uint64_t block_cache_bytes = 0;
    uint64_t table_readers_bytes = 0;
    // RocksDB's background work since the store opened: memtable flushes
    // and compactions, what they wrote, and the compactions' time (they
    // take a core each while they run).
    struct Background {
      uint64_t flushes = 0;
      uint64_t flush_bytes = 0;
      uint64_t compactions = 0;
      uint64_t compaction_bytes = 0;
      double compaction_seconds = 0;
      double compaction_cpu_seconds = 0;
      // Flushes after which RocksDB slowed or stopped writes (too many L0 files).
      uint64_t write_stalls = 0;
    };
    Background background;
  };
  virtual Stats GetStats() const = 0;

  // Observer of every committed batch (for metrics): number of appends in it
  // and the commit (write + fsync) latency. Called on the appender thread.
  // Called after the batch's callers have been answered; batches that wrote
  // nothing (only duplicates or rejected appends) are not reported.
  using BatchObserver = std::function<void(size_t appends, absl::Duration commit)>;
  virtual void SetBatchObserver(BatchObserver observer) = 0;
};

// Big-endian encoding: keys of ordered integers sort numerically.
std::string EncodeBigEndian64(uint64_t value);
uint64_t DecodeBigEndian64(absl::string_view bytes);  // requires size() >= 8

// If `status` is a version conflict from Append, the stream's current
// version it carries; nullopt otherwise.
// The version travels as the status payload "surge/conflict-version"
// (decimal), so it survives copying the status but not rebuilding it from
// code and message alone.
std::optional<int64_t> ConflictVersion(const absl::Status& status);

}  // namespace surge::eventstore

#endif  // SURGE_EVENTSTORE_EVENT_STORE_H_
