#include "eventstore/internal/append_queue.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace surge::eventstore::internal {

absl::Status AppendQueue::Push(PendingAppend&& item) {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::UnavailableError("store is closing");
  if (items_.size() >= capacity_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("append queue is full (", capacity_, " appends waiting)"));
  }
  if (!items_.empty() && item.bytes > capacity_bytes_ - std::min(bytes_, capacity_bytes_)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "append queue is full (", bytes_, " bytes waiting, budget ", capacity_bytes_, ")"));
  }
  bytes_ += item.bytes;
  items_.push_back(std::move(item));
  return absl::OkStatus();
}

std::vector<PendingAppend> AppendQueue::TakeBatch(size_t max_appends, size_t max_bytes) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || !items_.empty(); };
  mu_.Await(absl::Condition(&ready));
  std::vector<PendingAppend> batch;
  size_t bytes = 0;
  while (!items_.empty() && batch.size() < max_appends) {
    const size_t next = items_.front().bytes;
    if (!batch.empty() && bytes + next > max_bytes) break;
    bytes += next;
    bytes_ -= next;
    batch.push_back(std::move(items_.front()));
    items_.pop_front();
  }
  return batch;
}

void AppendQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

size_t AppendQueue::size() const {
  absl::MutexLock lock(&mu_);
  return items_.size();
}

size_t AppendQueue::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace surge::eventstore::internal
