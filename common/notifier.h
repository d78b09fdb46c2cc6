// A process-wide "something changed" signal with a sequence number, used to
// serve waits (wait_for_settlement_ms, live subscriptions) by notification
// rather than polling.
//
//   uint64_t seen = notifier.sequence();
//   while (!done()) { if (!notifier.WaitPast(seen, deadline)) break; seen = notifier.sequence(); }
//
// Thread-safe.
#ifndef SURGE_COMMON_NOTIFIER_H_
#define SURGE_COMMON_NOTIFIER_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge {

class Notifier {
 public:
  // Bumps the sequence and wakes every waiter.
  void Notify() {
    absl::MutexLock lock(&mu_);
    ++sequence_;
  }

  uint64_t sequence() const {
    absl::MutexLock lock(&mu_);
    return sequence_;
  }

  // Blocks until the sequence is greater than `seen` or `deadline` passes.
  // Returns true when it moved.
  bool WaitPast(uint64_t seen, absl::Time deadline) const {
    absl::MutexLock lock(&mu_);
    auto moved = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return sequence_ > seen;
    };
    return mu_.AwaitWithDeadline(absl::Condition(&moved), deadline);
  }

 private:
  mutable absl::Mutex mu_;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace surge

#endif  // SURGE_COMMON_NOTIFIER_H_
