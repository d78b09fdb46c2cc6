// Serves many "wait until this read model row settles, or a deadline" calls
// with ONE thread and no polling: the thread sleeps on the projections'
// Notifier and re-checks the pending waits only when the projections applied
// something (or the earliest deadline passed).
//
//   waiter.Add(deadline, notifier.sequence() /* taken before the first check */,
//              [](bool final) { ...; return settled || final; });
//
// Thread-safety: Add() may be called from any thread. Checks run on the
// waiter's own thread, one at a time. The destructor finishes every pending
// wait by calling its check with final=true, then joins the thread.
#ifndef SURGE_DOMAIN_SETTLEMENT_WAITER_H_
#define SURGE_DOMAIN_SETTLEMENT_WAITER_H_

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/notifier.h"

namespace surge::domain {

class SettlementWaiter {
 public:
  // Re-evaluates one wait. `final` is true when its deadline passed (or the
  // waiter is shutting down): the check must then answer its caller. Returns
  // true when the wait is over (answered).
  using Check = std::function<bool(bool final)>;

  explicit SettlementWaiter(Notifier& notifier);
  ~SettlementWaiter();
  SettlementWaiter(const SettlementWaiter&) = delete;
  SettlementWaiter& operator=(const SettlementWaiter&) = delete;

  // Registers a wait. `seen_sequence` is the notifier sequence read before the
  // caller's own (unsettled) check: if the notifier moved since, the wait is
  // re-checked at once, so no change is missed between that check and Add.
  void Add(absl::Time deadline, uint64_t seen_sequence, Check check);

  // Answers every pending wait now (check with final=true) and makes later
  // Add() calls answer at once, on the caller's thread. For shutdown: the
  // server stops waiting for settlement before it stops serving.
  void Drain();

  // Waits currently registered (tests, metrics). May lag behind answers by
  // one sweep of the waiter thread.
  size_t pending() const;

 private:
  struct Wait {
    absl::Time deadline;
    uint64_t seen_sequence;
    Check check;
  };

  void Run();

  Notifier& notifier_;
  mutable absl::Mutex mu_;
  std::vector<Wait> incoming_ ABSL_GUARDED_BY(mu_);
  // When the thread will wake up on its own; Add() only needs to wake it
  // (by bumping the notifier) for an earlier deadline.
  absl::Time sleep_until_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  size_t active_count_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace surge::domain

#endif  // SURGE_DOMAIN_SETTLEMENT_WAITER_H_
