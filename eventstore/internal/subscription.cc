#include "eventstore/internal/subscription.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace surge::eventstore::internal {

LogSubscription::LogSubscription(EventStore* store, std::shared_ptr<HeadState> head,
                                 uint64_t from_position)
    : store_(store), head_(std::move(head)), next_position_(std::max<uint64_t>(from_position, 1)) {}

absl::StatusOr<std::vector<v1::Event>> LogSubscription::Next(size_t max_events,
                                                             absl::Duration timeout) {
  auto cancelled = [this]() {
    return absl::CancelledError(cancelled_.load(std::memory_order_relaxed)
                                    ? "subscription cancelled"
                                    : "event store closed");
  };
  if (cancelled_.load(std::memory_order_relaxed) || head_->closed()) return cancelled();
  if (!head_->WaitFor(next_position_, absl::Now() + timeout, &cancelled_)) {
    if (cancelled_.load(std::memory_order_relaxed) || head_->closed()) return cancelled();
    return std::vector<v1::Event>();
  }
  if (!head_->EnterReader()) return cancelled();
  absl::StatusOr<std::vector<v1::Event>> events =
      store_->ReadAll(next_position_, std::clamp<size_t>(max_events, 1, kChunk));
  head_->ExitReader();
  if (!events.ok()) return events.status();
  if (!events->empty() && events->front().position() != next_position_) {
    return absl::DataLossError(absl::StrCat("log gap: expected position ", next_position_,
                                            ", found ", events->front().position()));
  }
  if (!events->empty()) next_position_ = events->back().position() + 1;
  return events;
}

void LogSubscription::Cancel() {
  cancelled_.store(true, std::memory_order_relaxed);
  // Wake a Next() blocked in WaitFor so it sees the flag.
  head_->Wake();
}

}  // namespace surge::eventstore::internal
