#include "kafka/internal/progress.h"

#include <algorithm>

namespace surge::kafka::internal {

void DeliveredTracker::MarkDelivered(uint64_t position) {
  if (position <= mark_) return;
  if (position != mark_ + 1) {
    above_.insert(position);
    return;
  }
  mark_ = position;
  // Absorb the run of out-of-order deliveries that is now contiguous.
  auto it = above_.begin();
  while (it != above_.end() && *it <= mark_ + 1) {
    mark_ = std::max(mark_, *it);
    it = above_.erase(it);
  }
}

bool DeliveredTracker::IsDelivered(uint64_t position) const {
  return position <= mark_ || above_.count(position) > 0;
}

void WatermarkTracker::OnProduced(size_t slot, uint64_t position) {
  fifos_[slot].push_back(position);
  ++unapplied_;
}

void WatermarkTracker::OnApplied(size_t slot, uint64_t applied) {
  std::deque<uint64_t>& fifo = fifos_[slot];
  while (!fifo.empty() && fifo.front() <= applied) {
    fifo.pop_front();
    --unapplied_;
  }
}

void WatermarkTracker::Rewind(uint64_t target) {
  for (std::deque<uint64_t>& fifo : fifos_) {
    while (!fifo.empty() && fifo.back() >= target) {
      fifo.pop_back();
      --unapplied_;
    }
  }
}

uint64_t WatermarkTracker::LowWatermark(uint64_t cursor) const {
  uint64_t low = cursor;  // nothing unapplied: W = cursor - 1
  for (const std::deque<uint64_t>& fifo : fifos_) {
    if (!fifo.empty()) low = std::min(low, fifo.front());
  }
  return low == 0 ? 0 : low - 1;
}

}  // namespace surge::kafka::internal
