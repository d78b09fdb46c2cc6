// The bounded queue between callers of Append and the appender thread.
//
// Callers push; the single appender thread takes everything waiting (up to a
// count and a byte budget) as one batch. A full queue refuses at once, which
// is the store's backpressure: memory stays bounded and callers see
// RESOURCE_EXHAUSTED. After Close() pushes are refused with UNAVAILABLE but
// everything already queued is still handed out, so the store can drain it.
//
// Thread-safe.
#ifndef SURGE_EVENTSTORE_INTERNAL_APPEND_QUEUE_H_
#define SURGE_EVENTSTORE_INTERNAL_APPEND_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"

namespace surge::eventstore::internal {

// One queued append and whom to answer.
struct PendingAppend {
  AppendRequest request;
  EventStore::AppendCallback done;
  // Estimated WriteBatch bytes, for the batch byte budget.
  size_t bytes = 0;
};

class AppendQueue {
 public:
  // At most `capacity` appends and `capacity_bytes` estimated bytes wait
  // (an append bigger than the byte budget alone is taken into an empty
  // queue, so nothing is refused forever).
  explicit AppendQueue(size_t capacity, size_t capacity_bytes = SIZE_MAX)
      : capacity_(capacity), capacity_bytes_(capacity_bytes) {}
  AppendQueue(const AppendQueue&) = delete;
  AppendQueue& operator=(const AppendQueue&) = delete;

  // Queues `item` (moved from only on success). RESOURCE_EXHAUSTED when
  // full, UNAVAILABLE after Close().
  absl::Status Push(PendingAppend&& item);

  // Blocks until something is queued, then takes up to `max_appends` items
  // whose bytes stay within `max_bytes` (always at least one). Returns an
  // empty vector once the queue is closed and drained.
  std::vector<PendingAppend> TakeBatch(size_t max_appends, size_t max_bytes);

  // Refuses further pushes and wakes TakeBatch.
  void Close();

  size_t size() const;
  // Estimated bytes of the appends waiting.
  size_t bytes() const;

 private:
  const size_t capacity_;
  const size_t capacity_bytes_;
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  mutable absl::Mutex mu_;
  std::deque<PendingAppend> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_APPEND_QUEUE_H_
