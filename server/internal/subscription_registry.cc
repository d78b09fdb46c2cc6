#include "server/internal/subscription_registry.h"

#include "server/internal/subscribe_reactor.h"

namespace surge::server::internal {

bool SubscriptionRegistry::TryAdd(SubscribeReactor* reactor) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || active_.size() >= max_active_) return false;
  active_.insert(reactor);
  return true;
}

void SubscriptionRegistry::Remove(SubscribeReactor* reactor) {
  absl::MutexLock lock(&mu_);
  active_.erase(reactor);
}

void SubscriptionRegistry::StopAll() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  // Safe under mu_: a reactor leaves the set (Remove) before it can finish,
  // hence before gRPC can delete it.
  for (SubscribeReactor* reactor : active_) reactor->Stop();
}

bool SubscriptionRegistry::WaitUntilEmpty(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto empty = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return active_.empty(); };
  return mu_.AwaitWithDeadline(absl::Condition(&empty), deadline);
}

size_t SubscriptionRegistry::active() const {
  absl::MutexLock lock(&mu_);
  return active_.size();
}

}  // namespace surge::server::internal
