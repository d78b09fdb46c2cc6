// The state of one decider partition, in memory: every row the projection
// handler keeps for the partition's keys (stock levels, campaign counters,
// per-user holdings, saga state, decided coupon requests) plus the input
// dedupe marks ("#marks": origin -> highest log position applied), and the
// input offset it reflects. It is rebuilt from <topic>.changelog when the
// partition is gained (Decider::Restore applies each record) and moved
// forward by the decider's own batches (BatchOverlay::AppendWrites into a
// record, then Apply).
//
//   PartitionState state;
//   for (const ChangelogBatch& record : changelog) state.Apply(record);
//   BatchOverlay overlay(&state);
//   SURGE_ASSIGN_OR_RETURN(auto events, projection.Handle(overlay, event));
//   ChangelogBatch record;  // base_offset = state.next_offset(), ...
//   overlay.AppendWrites(record);
//   state.Apply(record);
//
// Not thread-safe: owned by one decider thread.
#ifndef SURGE_CLUSTER_PARTITION_STATE_H_
#define SURGE_CLUSTER_PARTITION_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster/cluster.pb.h"
#include "projections/projection_state.h"

namespace surge::cluster {

// The column family of the dedupe marks in a partition state.
inline constexpr char kMarksCf[] = "#marks";
// The column family of the dead letters replayed (by id) in a partition
// state: a replay is decided once per id (see Decider::ReplayDeadLetter).
inline constexpr char kReplaysCf[] = "#replays";

// The chain rule of <topic>.changelog, for every reader (a restore, the
// views): a record counts when it covers the offset the reader's state has
// reached and goes past it (base_offset <= next < next_offset).
//
// Why an overlap and not only base_offset == next: two writers of one
// partition (the owner that restored it, and a paused or kicked-out member
// still finishing its batch) may both write records from the same base with
// different batch ends, e.g. 150->170 and 150->200. Had only an exact base
// counted, a reader that applied 150->170 first would ignore 150->200 and
// then every later record of the owner (base 200 != 170), forever: the
// partition's decisions stop reaching any read model while its owner keeps
// deciding (the cluster crash loop's stranded coupon requests, issue 24).
// Applying the overlapping record is exact: decisions are a deterministic
// function of the partition's input prefix, and a record's writes are the
// absolute values of the rows its batch changed as of its next_offset, so
// state(170) + writes(150->200) == state(200). A record that ends at or
// before the reader's point adds nothing, and one that starts past it
// would skip inputs: both are ignored.
inline bool ExtendsChain(int64_t next, const ChangelogBatch& record) {
  return record.base_offset() <= next && next < record.next_offset();
}

class PartitionState {
 public:
  // Applies a changelog record when it extends this state (ExtendsChain);
  // returns false (and changes nothing) otherwise. A snapshot chunk is not
  // a record: see ApplySnapshot. View-only writes drop their key.
  bool Apply(const ChangelogBatch& record);

  // Replaces the state with a complete snapshot (SnapshotAssembler) when it
  // is past the offset reached (base_offset > next_offset()); returns false
  // (and changes nothing) otherwise: a zombie's late snapshot, or one this
  // state has already reached. Exact for the same reason as the chain rule:
  // a snapshot is the state at its offset, whoever took it.
  bool ApplySnapshot(const std::vector<ChangelogBatch>& chunks);

  // The state as snapshot chunks (ChangelogBatch with `snapshot` set), in
  // key order, each holding rows of at most about `max_chunk_bytes` (a row
  // larger than that gets a chunk of its own). At least one chunk.
  std::vector<ChangelogBatch> Snapshot(const std::string& id, int64_t epoch,
                                       const std::string& node_id, size_t max_chunk_bytes) const;

  std::optional<std::string> Get(const std::string& cf, const std::string& key) const;
  int64_t next_offset() const { return next_offset_; }
  // Highest epoch of the records applied or skipped (Observe).
  int64_t max_epoch() const { return max_epoch_; }
  void Observe(const ChangelogBatch& record) {
    if (record.epoch() > max_epoch_) max_epoch_ = record.epoch();
  }
  size_t size() const { return rows_.size(); }
  // cf + key + value bytes of every row: about what a snapshot weighs.
  uint64_t bytes() const { return bytes_; }

 private:
  void Put(const std::string& cf, const std::string& key, const std::string& value);
  void Erase(const std::string& cf, const std::string& key);

  std::map<std::pair<std::string, std::string>, std::string> rows_;
  int64_t next_offset_ = 0;
  int64_t max_epoch_ = 0;
  uint64_t bytes_ = 0;
};

// Collects snapshot chunks as a reader meets them in changelog order: the
// chunks of one snapshot come one after the other from one producer, but
// another writer's records (or a zombie's snapshot) may come between them.
// Chunks out of order, or of a snapshot whose first chunk was not seen
// (retention cut it), never complete anything.
//
//   SnapshotAssembler snapshots;
//   if (record.has_snapshot()) {
//     if (snapshots.Offer(record)) state.ApplySnapshot(snapshots.TakeComplete());
//   } else {
//     state.Apply(record);
//   }
class SnapshotAssembler {
 public:
  // Takes a chunk read at changelog `offset`; true when it completed its
  // snapshot (then TakeComplete and complete_offset).
  bool Offer(const ChangelogBatch& chunk, int64_t offset);
  std::vector<ChangelogBatch> TakeComplete() { return std::move(complete_); }
  // The changelog offset of the completed snapshot's first chunk.
  int64_t complete_offset() const { return complete_offset_; }

 private:
  struct Pending {
    std::string id;
    int64_t first_offset = -1;
    std::vector<ChangelogBatch> chunks;  // 0..k-1 seen so far
  };
  static constexpr size_t kMaxPending = 4;
  std::vector<Pending> pending_;  // oldest snapshot first
  std::vector<ChangelogBatch> complete_;
  int64_t complete_offset_ = -1;
};

// Buffered writes over a PartitionState, or over another overlay (a
// per-message child whose writes are merged only when its handler
// succeeded). What the projection handlers see. Not thread-safe.
class BatchOverlay : public projections::ProjectionState {
 public:
  explicit BatchOverlay(const PartitionState* base) : base_(base) {}
  explicit BatchOverlay(BatchOverlay* parent) : base_(nullptr), parent_(parent) {}

  absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                 const std::string& key) override;
  void Put(const std::string& cf, const std::string& key, std::string value) override;
  void Delete(const std::string& cf, const std::string& key) override;
  // Marked view_only in the record (StateWrite.view_only).
  void PutReadModel(const std::string& cf, const std::string& key, std::string value) override;

  // Moves this overlay's writes into its parent (child overlays only).
  void MergeIntoParent();
  // The writes as changelog rows, in key order.
  void AppendWrites(ChangelogBatch& record) const;
  bool empty() const { return writes_.empty(); }

 private:
  struct Write {
    std::optional<std::string> value;  // nullopt: a delete
    bool view_only = false;
  };

  const PartitionState* const base_;
  BatchOverlay* const parent_ = nullptr;
  std::map<std::pair<std::string, std::string>, Write> writes_;
};

// A partition state kept warm by a node that does not own the partition
// (its view mirrors every changelog partition): what a restore would build,
// and where in the changelog it stands. A decider that gains the partition
// starts from it and reads only the records written since (a warm standby).
struct WarmState {
  PartitionState state;
  // The next changelog offset to read: every record before it is in state.
  int64_t changelog_next = 0;
  // Changelog offset of the first chunk of the latest complete snapshot on
  // state's chain (taken at the offset state had reached); -1: none seen.
  int64_t snapshot_at = -1;
  int64_t snapshot_unix_ms = 0;
  uint64_t snapshot_bytes = 0;
};

// 8-byte big-endian, as the other position rows.
std::string EncodeMark(uint64_t position);
uint64_t DecodeMark(const std::optional<std::string>& bytes);

}  // namespace surge::cluster

#endif  // SURGE_CLUSTER_PARTITION_STATE_H_
