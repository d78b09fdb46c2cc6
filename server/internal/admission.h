// Admission control for new work (PlaceOrder, RequestCoupon): refuses with
// RESOURCE_EXHAUSTED while decisions lag too far behind what was accepted,
// so the settle latency stays bounded at any offered load and the excess is
// told at once instead of queueing for seconds.
//
//   Admission admission(options, [&] { return store.HeadPosition(); },
//                       [&] { return relay.GetStats().low_watermark; });
//   command_options.admit = [&] { return admission.Admit(); };
//
// Two bounds, either may be off:
//  * lag: log events accepted but not decided yet (head minus the decided
//    watermark: every position at or below it is applied by every
//    projection). A guard on the backlog's size.
//  * delay: how long the oldest undecided command has waited: what a
//    client waits for its decision, independent of how fast this machine
//    decides. A command is decided Options::rounds rounds after its commit:
//    in round one the projections apply its events and append their
//    answers in the same batch as their checkpoints, so once the decided
//    watermark passes the command the answers are at or below the head of
//    that moment; round two applies those (an order's stock answers reach
//    the saga, which appends the decision). Commit times come from the
//    times Admit saw the head move: the oldest undecided position was
//    committed after the head was last seen below it and no later than it
//    was first seen at or above it. The later of the two is used: it
//    understates the wait by at most the gap between two admissions (and
//    overstates it by kCoalesce at most). Applies only to a backlog of more
//    than delay_min_lag_events, and only while decisions progress (an
//    overload, not an outage).
//
// Thread-safety: thread-safe. The two callbacks are called without the lock
// held and must be thread-safe themselves.
#ifndef SURGE_SERVER_INTERNAL_ADMISSION_H_
#define SURGE_SERVER_INTERNAL_ADMISSION_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace surge::server::internal {

class Admission {
 public:
  struct Options {
    // Most log events accepted but not decided yet. 0: no bound.
    uint64_t max_lag_events = 10000;
    // Longest the oldest undecided command may have waited. Zero: no bound.
    absl::Duration max_delay = absl::Milliseconds(100);
    // max_delay applies only while more events than this are undecided: a
    // single order takes 5-20 ms to decide at no load (longer right after a
    // start, or over a disk hiccup), which is not a backlog to push back on.
    // ~500 events are 80-250 orders.
    uint64_t delay_min_lag_events = 500;
    // max_delay applies only while decisions are being made: the decided
    // watermark moved within this window. When they stop altogether (Kafka
    // down, a stuck projection) the log buffers commands, up to
    // max_lag_events, as the transactional outbox is meant to: refusing
    // then would turn a Kafka outage into an outage of the service.
    absl::Duration delay_progress_window = absl::Milliseconds(250);
    // Rounds of the pipeline from a command's commit to its decision (see
    // above). 1 measures only the first hop (the oldest event not yet
    // applied); an order takes 2 (stock, then the saga), a coupon request 1,
    // so the server uses 2 and errs on the side of refusing coupons early.
    int rounds = 1;
  };
  // Observations closer than this share one entry (bounds the memory to
  // one entry per millisecond of backlog).
  static constexpr absl::Duration kCoalesce = absl::Milliseconds(1);
  // At most this many entries are kept (a backlog of minutes); beyond it the
  // oldest are dropped, which can only make the delay look shorter.
  static constexpr size_t kMaxEntries = 1 << 17;

  Admission(Options options, std::function<uint64_t()> head, std::function<uint64_t()> decided)
      : options_(options),
        head_(std::move(head)),
        decided_(std::move(decided)),
        rounds_(static_cast<size_t>(std::max(1, options.rounds))) {}

  // OK, or RESOURCE_EXHAUSTED saying which bound was hit (and counted).
  absl::Status Admit(absl::Time now = absl::Now());

  uint64_t rejected() const;
  // The oldest undecided command's wait as of the last Admit (zero when
  // nothing was undecided), for metrics.
  absl::Duration last_delay() const;

 private:
  const Options options_;
  const std::function<uint64_t()> head_;
  const std::function<uint64_t()> decided_;

  mutable absl::Mutex mu_;
  // What each round still waits for: (target position, when the oldest
  // command it stands for was first seen committed). rounds_[0] holds head
  // positions as Admit saw them; when the decided watermark passes an
  // entry's target it moves to the next round with the head of that moment
  // as its target, and leaves the last round decided. Each deque is
  // increasing in both target and time.
  std::vector<std::deque<std::pair<uint64_t, absl::Time>>> rounds_ ABSL_GUARDED_BY(mu_);
  uint64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_decided_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time decided_moved_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration last_delay_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_ADMISSION_H_
