// Bookkeeping of the live Subscribe streams: caps how many run at once and
// lets the server stop them all at shutdown.
//
// Thread-safe.
#ifndef SURGE_SERVER_INTERNAL_SUBSCRIPTION_REGISTRY_H_
#define SURGE_SERVER_INTERNAL_SUBSCRIPTION_REGISTRY_H_

#include <cstddef>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge::server::internal {

class SubscribeReactor;

class SubscriptionRegistry {
 public:
  explicit SubscriptionRegistry(size_t max_active) : max_active_(max_active) {}

  // Registers a starting stream; false when max_active are running or the
  // registry is stopping.
  bool TryAdd(SubscribeReactor* reactor);
  // Called by a stream once it no longer touches the event store.
  void Remove(SubscribeReactor* reactor);
  // Stops every stream and refuses new ones.
  void StopAll();
  // Waits until every stream has called Remove(); false at the deadline.
  bool WaitUntilEmpty(absl::Time deadline);
  size_t active() const;

 private:
  const size_t max_active_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<SubscribeReactor*> active_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_SUBSCRIPTION_REGISTRY_H_
