#include "domain/settlement_waiter.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/thread_name.h"

namespace surge::domain {

SettlementWaiter::SettlementWaiter(Notifier& notifier)
    : notifier_(notifier), thread_([this] {
        SetCurrentThreadName("surge-settle");
        Run();
      }) {}

SettlementWaiter::~SettlementWaiter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  // The notifier is the only thing the thread sleeps on. A spurious bump is
  // harmless to every other waiter: they re-check and sleep again.
  notifier_.Notify();
  thread_.join();
}

void SettlementWaiter::Add(absl::Time deadline, uint64_t seen_sequence, Check check) {
  bool wake = false;
  bool draining = false;
  {
    absl::MutexLock lock(&mu_);
    draining = draining_;
    if (!draining) {
      incoming_.push_back(Wait{deadline, seen_sequence, std::move(check)});
      wake = deadline < sleep_until_ || seen_sequence < notifier_.sequence();
    }
  }
  if (draining) {
    check(true);
    return;
  }
  if (wake) notifier_.Notify();
}

void SettlementWaiter::Drain() {
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
  }
  notifier_.Notify();
  // Wait until the thread answered what it held when it saw the flag.
  absl::MutexLock lock(&mu_);
  auto drained = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return stop_ || (incoming_.empty() && active_count_ == 0);
  };
  mu_.Await(absl::Condition(&drained));
}

size_t SettlementWaiter::pending() const {
  absl::MutexLock lock(&mu_);
  return incoming_.size() + active_count_;
}

void SettlementWaiter::Run() {
  std::vector<Wait> active;  // owned by this thread only
  while (true) {
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      for (Wait& w : incoming_) active.push_back(std::move(w));
      incoming_.clear();
      active_count_ = active.size();
      stopping = stop_ || draining_;
    }
    // Read before the checks: a change landing during them bumps the
    // sequence past `seen`, so the sleep below returns at once.
    const uint64_t seen = notifier_.sequence();
    const absl::Time now = absl::Now();
    absl::Time earliest = absl::InfiniteFuture();
    std::vector<Wait> still;
    still.reserve(active.size());
    for (Wait& w : active) {
      const bool final = stopping || now >= w.deadline;
      if (final || w.seen_sequence < seen) {
        w.seen_sequence = seen;
        if (w.check(final)) continue;
      }
      earliest = std::min(earliest, w.deadline);
      still.push_back(std::move(w));
    }
    active.swap(still);
    if (stopping) {
      absl::MutexLock lock(&mu_);
      active_count_ = 0;
      // Drain keeps the thread (idle) until destruction; stop ends it.
      if (stop_) break;
      auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || !incoming_.empty(); };
      mu_.Await(absl::Condition(&woken));
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      active_count_ = active.size();
      sleep_until_ = earliest;
      if (!incoming_.empty() || stop_) continue;
    }
    notifier_.WaitPast(seen, earliest);
  }
}

}  // namespace surge::domain
