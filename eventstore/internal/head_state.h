// The published head of the log and the store's "closed" flag, shared by the
// store and its subscriptions.
//
// The appender publishes a new head only after the batch is durable, so a
// reader that waits for head >= p may read position p. Subscriptions may
// outlive the store; they hold this object by shared_ptr and enter it as
// readers (EnterReader/ExitReader) around every read of the store, and
// Close() waits until no reader is inside, so a subscription never touches a
// destroyed store.
//
// Thread-safe.
#ifndef SURGE_EVENTSTORE_INTERNAL_HEAD_STATE_H_
#define SURGE_EVENTSTORE_INTERNAL_HEAD_STATE_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge::eventstore::internal {

class HeadState {
 public:
  explicit HeadState(uint64_t head) : head_(head) {}
  HeadState(const HeadState&) = delete;
  HeadState& operator=(const HeadState&) = delete;

  uint64_t head() const;
  bool closed() const;

  // Sets the head (the appender thread only; it never moves backwards
  // because a failed batch is never published) and wakes waiters.
  void Publish(uint64_t head);

  // Blocks until head >= position, the deadline passes, the state closes,
  // or `*cancelled` (when given) becomes true and Wake() is called.
  // Returns head >= position.
  bool WaitFor(uint64_t position, absl::Time deadline,
               const std::atomic<bool>* cancelled = nullptr) const;

  // Re-evaluates the conditions of blocked waiters (after a cancel flag
  // changed).
  void Wake();

  // Registers a reader of the store; false once closed.
  bool EnterReader();
  void ExitReader();

  // Closes, wakes every waiter, and blocks until no reader is inside.
  void Close();

 private:
  mutable absl::Mutex mu_;
  uint64_t head_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int readers_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_HEAD_STATE_H_
