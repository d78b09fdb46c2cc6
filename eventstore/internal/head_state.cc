#include "eventstore/internal/head_state.h"

namespace surge::eventstore::internal {

uint64_t HeadState::head() const {
  absl::MutexLock lock(&mu_);
  return head_;
}

bool HeadState::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

void HeadState::Publish(uint64_t head) {
  absl::MutexLock lock(&mu_);
  head_ = head;
}

bool HeadState::WaitFor(uint64_t position, absl::Time deadline,
                        const std::atomic<bool>* cancelled) const {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    // Relaxed is enough: the flag is stored before Wake() takes mu_, and
    // the mutex's release/acquire orders that store before this read.
    return head_ >= position || closed_ ||
           (cancelled != nullptr && cancelled->load(std::memory_order_relaxed));
  };
  mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  return head_ >= position;
}

void HeadState::Wake() {
  // Releasing the mutex makes absl re-evaluate every waiter's condition.
  absl::MutexLock lock(&mu_);
}

bool HeadState::EnterReader() {
  absl::MutexLock lock(&mu_);
  if (closed_) return false;
  ++readers_;
  return true;
}

void HeadState::ExitReader() {
  absl::MutexLock lock(&mu_);
  --readers_;
}

void HeadState::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return readers_ == 0; };
  mu_.Await(absl::Condition(&idle));
}

}  // namespace surge::eventstore::internal
