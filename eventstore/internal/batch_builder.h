// Turns the appends of one group-commit batch into one rocksdb::WriteBatch.
//
// For each append, in order: idempotency check (against RocksDB and the
// earlier appends of this batch), fingerprint check, expected-version checks
// (against the committed version cache plus the earlier appends of this
// batch), then position / version / id assignment and the writes. An append
// that fails leaves nothing in the batch and does not disturb the others.
// Nothing becomes visible to the rest of the store until the caller has
// written the batch and calls Commit(); dropping the builder instead rolls
// everything back (positions, versions, keys).
//
// Not thread-safe: lives on the appender thread for one batch.
#ifndef SURGE_EVENTSTORE_INTERNAL_BATCH_BUILDER_H_
#define SURGE_EVENTSTORE_INTERNAL_BATCH_BUILDER_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "eventstore/internal/rocks_db.h"
#include "rocksdb/write_batch.h"

namespace surge::eventstore::internal {

// Committed stream versions, a cache in front of the streams CF for the
// appender. Bounded: when it reaches `capacity` it is cleared (a miss costs
// one reverse seek). Not thread-safe: the appender thread owns it.
class StreamVersionCache {
 public:
  explicit StreamVersionCache(size_t capacity) : capacity_(capacity) {}
  // The current version, read from RocksDB on a miss (kNoStream if absent).
  absl::StatusOr<int64_t> Get(const RocksDb& db, const std::string& stream_id);
  void Put(const std::string& stream_id, int64_t version);

 private:
  const size_t capacity_;
  std::unordered_map<std::string, int64_t> versions_;
};

// The current version of `stream_id` read from the streams CF, kNoStream if
// it has no event.
absl::StatusOr<int64_t> ReadStreamVersion(const RocksDb& db, const std::string& stream_id);

// Parses a stored idempotency record into the answer it stands for
// (duplicate = true). DATA_LOSS when unparsable.
absl::StatusOr<AppendResult> ParseIdempotencyRecord(absl::string_view key,
                                                    const std::string& stored);

class BatchBuilder {
 public:
  // Positions are assigned from `next_position`; `now` stamps recorded_at.
  BatchBuilder(const RocksDb& db, StreamVersionCache& versions, uint64_t next_position,
               std::string node_id, absl::Time now, std::string event_id_prefix = "");
  BatchBuilder(const BatchBuilder&) = delete;
  BatchBuilder& operator=(const BatchBuilder&) = delete;

  // Stages one append (its events are completed in place). The result is
  // final only once the batch is written.
  absl::StatusOr<AppendResult> Add(AppendRequest& request);

  // True when the batch holds anything to write.
  bool has_writes() const { return batch_.Count() > 0; }
  rocksdb::WriteBatch* batch() { return &batch_; }
  // Position after the last staged event.
  uint64_t next_position() const { return next_position_; }
  // Appends and events staged so far (duplicates excluded).
  size_t appends() const { return appends_; }
  size_t events() const { return events_; }

  // After a successful write: publishes the batch's stream versions into the
  // committed cache.
  void Commit();

 private:
  absl::StatusOr<int64_t> CurrentVersion(const std::string& stream_id);
  absl::StatusOr<AppendResult> CheckIdempotency(const AppendRequest& request, bool* found);

  const RocksDb& db_;
  StreamVersionCache& committed_;
  uint64_t next_position_;
  const std::string node_id_;
  const std::string event_id_prefix_;
  const absl::Time now_;
  rocksdb::WriteBatch batch_;
  // Versions written by earlier appends of this batch.
  std::unordered_map<std::string, int64_t> batch_versions_;
  // Idempotency keys written by earlier appends of this batch:
  // key -> (fingerprint, result).
  std::unordered_map<std::string, std::pair<std::string, AppendResult>> batch_keys_;
  size_t appends_ = 0;
  size_t events_ = 0;
};

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_BATCH_BUILDER_H_
