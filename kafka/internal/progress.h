// The relay's bookkeeping of where every produced position stands, kept apart
// from any I/O so it can be unit-tested:
//
//  * DeliveredTracker: the highest position P such that every position <= P
//    was delivered (acknowledged by Kafka) — the relay/delivered checkpoint.
//  * WatermarkTracker: per (topic, partition) slot, the FIFO of positions
//    produced but not yet applied by the projections, and from it the low
//    watermark W = (smallest unapplied produced position) - 1, or
//    cursor - 1 when nothing produced is unapplied.
//
// Not thread-safe: owned by the relay thread.
#ifndef SURGE_KAFKA_INTERNAL_PROGRESS_H_
#define SURGE_KAFKA_INTERNAL_PROGRESS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <vector>

namespace surge::kafka::internal {

class DeliveredTracker {
 public:
  // Every position <= `mark` counts as delivered.
  explicit DeliveredTracker(uint64_t mark = 0) : mark_(mark) {}

  // Records one delivered position (in any order; repeats are fine).
  void MarkDelivered(uint64_t position);
  bool IsDelivered(uint64_t position) const;
  // Highest contiguous delivered position.
  uint64_t mark() const { return mark_; }

 private:
  uint64_t mark_;
  std::set<uint64_t> above_;  // delivered positions > mark_ + 1, out of order
};

class WatermarkTracker {
 public:
  explicit WatermarkTracker(size_t slots) : fifos_(slots) {}

  // `position` was produced to `slot`; positions per slot must increase
  // between rewinds.
  void OnProduced(size_t slot, uint64_t position);
  // Everything at or below `applied` in `slot` has been applied.
  void OnApplied(size_t slot, uint64_t applied);
  // Forgets produced positions >= `target` (they will be produced again).
  void Rewind(uint64_t target);
  // The low watermark given the relay's next position to produce.
  uint64_t LowWatermark(uint64_t cursor) const;
  // Produced positions not yet applied, over all slots.
  size_t unapplied() const { return unapplied_; }

 private:
  std::vector<std::deque<uint64_t>> fifos_;
  size_t unapplied_ = 0;
};

}  // namespace surge::kafka::internal

#endif  // SURGE_KAFKA_INTERNAL_PROGRESS_H_
