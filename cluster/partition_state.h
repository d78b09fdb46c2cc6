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
  // returns false (and changes nothing) otherwise.
  bool Apply(const ChangelogBatch& record);

  std::optional<std::string> Get(const std::string& cf, const std::string& key) const;
  int64_t next_offset() const { return next_offset_; }
  // Highest epoch of the records applied or skipped (Observe).
  int64_t max_epoch() const { return max_epoch_; }
  void Observe(const ChangelogBatch& record) {
    if (record.epoch() > max_epoch_) max_epoch_ = record.epoch();
  }
  size_t size() const { return rows_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, std::string> rows_;
  int64_t next_offset_ = 0;
  int64_t max_epoch_ = 0;
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

  // Moves this overlay's writes into its parent (child overlays only).
  void MergeIntoParent();
  // The writes as changelog rows, in key order.
  void AppendWrites(ChangelogBatch& record) const;
  bool empty() const { return writes_.empty(); }

 private:
  const PartitionState* const base_;
  BatchOverlay* const parent_ = nullptr;
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> writes_;
};

// 8-byte big-endian, as the other position rows.
std::string EncodeMark(uint64_t position);
uint64_t DecodeMark(const std::optional<std::string>& bytes);

}  // namespace surge::cluster

#endif  // SURGE_CLUSTER_PARTITION_STATE_H_
