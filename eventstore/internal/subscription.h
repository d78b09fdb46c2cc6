// The store's live subscription: catch-up by reading the log in chunks,
// then tailing it by waiting for the published head.
//
// Because it reads only positions <= the published head and advances its
// cursor by exactly the events it returned, every event is delivered once,
// in order, and the catch-up -> live handover cannot skip or repeat.
//
// Not thread-safe except Cancel(). Holds the store's HeadState by
// shared_ptr and reads the store only inside HeadState's reader gate, so it
// may outlive the store (Next then answers CANCELLED).
#ifndef SURGE_EVENTSTORE_INTERNAL_SUBSCRIPTION_H_
#define SURGE_EVENTSTORE_INTERNAL_SUBSCRIPTION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "eventstore/event_store.h"
#include "eventstore/internal/head_state.h"

namespace surge::eventstore::internal {

class LogSubscription : public Subscription {
 public:
  // Most events read from the store per Next() during catch-up.
  static constexpr size_t kChunk = 1024;

  // `store` is borrowed; it is used only while `head` is open.
  LogSubscription(EventStore* store, std::shared_ptr<HeadState> head, uint64_t from_position);

  absl::StatusOr<std::vector<v1::Event>> Next(size_t max_events, absl::Duration timeout) override;
  void Cancel() override;
  uint64_t next_position() const override { return next_position_; }

 private:
  EventStore* const store_;
  const std::shared_ptr<HeadState> head_;
  uint64_t next_position_;
  // Set by Cancel() from any thread; read by Next().
  std::atomic<bool> cancelled_{false};
};

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_SUBSCRIPTION_H_
