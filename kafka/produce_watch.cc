#include "kafka/produce_watch.h"

#include <algorithm>

namespace surge::kafka {

void ProduceWatch::OnProduced(const std::string& topic) {
  absl::MutexLock lock(&mu_);
  TopicState& t = topics_[topic];
  ++t.produced;
  ++t.in_flight;
}

void ProduceWatch::OnDelivered(const std::string& topic, int32_t partition, int64_t offset) {
  absl::MutexLock lock(&mu_);
  TopicState& t = topics_[topic];
  if (t.in_flight > 0) --t.in_flight;
  auto [it, inserted] = t.highest_delivered.emplace(partition, offset);
  if (!inserted) it->second = std::max(it->second, offset);
}

void ProduceWatch::OnFailed(const std::string& topic) {
  absl::MutexLock lock(&mu_);
  TopicState& t = topics_[topic];
  if (t.in_flight > 0) --t.in_flight;
}

ProduceWatch::Ticket ProduceWatch::Take(const std::string& topic) const {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  return Ticket{it == topics_.end() ? 0 : it->second.produced};
}

bool ProduceWatch::CaughtUp(const Ticket& ticket, const std::string& topic,
                            const std::map<int32_t, int64_t>& next_offsets) const {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return ticket.produced == 0;
  const TopicState& t = it->second;
  if (t.produced != ticket.produced || t.in_flight > 0) return false;
  for (const auto& [partition, highest] : t.highest_delivered) {
    auto next = next_offsets.find(partition);
    if (next == next_offsets.end() || next->second <= highest) return false;
  }
  return true;
}

bool ProduceWatch::AwaitProduced(const Ticket& ticket, const std::string& topic,
                                 absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto moved = [this, &ticket, &topic]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    auto it = topics_.find(topic);
    return it != topics_.end() && it->second.produced != ticket.produced;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&moved), deadline);
}

}  // namespace surge::kafka
