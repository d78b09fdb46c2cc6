// Counts flood calls in flight (bounding them) and their final statuses.
// Header-only so that the in-process queue test, which cannot link the
// flood runner's test support, shares it. Thread-safe.
#ifndef SURGE_TESTS_FLOOD_CALL_TALLY_H_
#define SURGE_TESTS_FLOOD_CALL_TALLY_H_

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge::testing {

// Counts calls in flight and their final statuses.
class CallTally {
 public:
  // Blocks until fewer than `limit` calls are in flight, then counts one more.
  void Acquire(int limit) {
    absl::MutexLock lock(&mu_);
    auto room = [this, limit]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return in_flight_ < limit; };
    mu_.Await(absl::Condition(&room));
    ++in_flight_;
    ++started_;
  }
  void Done(grpc::StatusCode code) {
    absl::MutexLock lock(&mu_);
    --in_flight_;
    ++statuses_[code];
  }
  // True when every started call finished before `deadline`.
  bool WaitAllDone(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
    return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
  }
  // True when at least `n` calls finished before `deadline`.
  bool WaitFinished(int64_t n, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return finished() >= n; };
    return mu_.AwaitWithDeadline(absl::Condition(&enough), deadline);
  }
  int64_t finished_count() {
    absl::MutexLock lock(&mu_);
    return finished();
  }
  std::map<grpc::StatusCode, int64_t> statuses() {
    absl::MutexLock lock(&mu_);
    return statuses_;
  }
  int64_t started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }

 private:
  int64_t finished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int64_t n = 0;
    for (const auto& [code, count] : statuses_) n += count;
    return n;
  }

  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t started_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<grpc::StatusCode, int64_t> statuses_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_FLOOD_CALL_TALLY_H_
