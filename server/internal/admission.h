// Admission control for new work (PlaceOrder, RequestCoupon): accepts a
// burst the node can decide within a time budget, and refuses with
// RESOURCE_EXHAUSTED only when the backlog would take longer than that:
// sustained overload, or decisions that have stopped. The log takes a flash
// sale's opening burst durably and in arrival order; refusing part of it
// would make those clients retry behind later arrivals.
//
//   Admission admission(options, [&] { return store.HeadPosition(); },
//                       [&] { return relay.GetStats().low_watermark; });
//   command_options.admit = [&] { return admission.Admit(); };
//   double backlog = admission.Observe().backlog_events;  // a metric
//
// The backlog is the log events accepted but not decided yet: head minus
// the decided watermark (every position at or below it is applied by every
// projection). Three bounds:
//  * the hard cap, max_lag_events: a guard on the backlog's size (memory,
//    Kafka retention), whatever the rate.
//  * the projected drain time: rounds x backlog / the measured decision
//    rate above forecast_share x max_delay (two thirds: what is accepted
//    then settles within max_delay), once the oldest undecided command has waited a
//    third of it. A new command waits for the watermark to pass the
//    backlog once per round, and under sustained load each round finds
//    about as much. The rate is the events the decided watermark advances
//    per second, measured only while the pipeline has work queued
//    throughout (see MeasureRateLocked), over the last rate_history
//    samples; an idle node keeps what its last busy period showed. It must
//    follow the load of the moment: under overload the node decides
//    several times slower than when calm, because accepting and refusing
//    calls take the cores (measured on 2 cores: about 9,600 events/s at 3x
//    overload against 33,000-43,000 in a closed loop before it). A sample
//    can also catch a pause or the pipeline ramping up, and a forecast
//    from a rate measured low must not refuse a burst that is being
//    decided fast: hence the wait of a third of the budget before it
//    applies. Until kMinSamples were measured since start this bound is
//    off, and the next one stands in.
//  * the oldest undecided command's wait above max_delay: covers decisions
//    that have stopped (the rate says nothing then). A command is decided
//    Options::rounds rounds after its commit: in round one the projections
//    apply its events and append their answers in the same batch as their
//    checkpoints, so once the decided watermark passes the command the
//    answers are at or below the head of that moment; round two applies
//    those (an order's stock answers reach the saga, which appends the
//    decision). Commit times come from the times the head was seen to move
//    (by Admit or Observe): the later of "last seen below" and "first seen
//    at or above" is used, which understates the wait by at most the gap
//    between two observations.
// Warm-up: until the decided watermark has moved once since start, the
// pipeline's consumers are still joining and only the hard cap applies.
// Waits are then counted from the moment it moved, so the joining time is
// not held against the node.
//
// Thread-safety: thread-safe. The two callbacks are called without the lock
// held and must be thread-safe themselves.
#ifndef SURGE_SERVER_INTERNAL_ADMISSION_H_
#define SURGE_SERVER_INTERNAL_ADMISSION_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
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
    // Hard cap: most log events accepted but not decided yet. A guard on
    // the backlog's memory and on Kafka's retention, not on latency: an
    // order is 2-3 events plus its answers, so 100,000 holds a 5,000-order
    // burst and a 10,000-request coupon burst at once. Applies during
    // warm-up too. 0: no cap.
    uint64_t max_lag_events = 100000;
    // The budget: refuse when the backlog would take longer than this to
    // decide at the measured rate, or when the oldest undecided command has
    // waited longer. What an accepted command waits behind others is kept
    // to about this while the node's rate holds; when the rate falls after
    // the commands were accepted (overload takes the cores the pipeline
    // needs) they wait longer, and everything is refused meanwhile.
    // Shorter refuses bursts a node could absorb (clients
    // retry, and later arrivals can overtake them); longer lets accepted
    // commands wait longer under overload. Zero: no time bound.
    absl::Duration max_delay = absl::Seconds(3);
    // The projected drain time refuses above this share of max_delay. An
    // accepted command settles later than the forecast made when it was
    // accepted: under overload the node decides slower than the rate was
    // measured at (accepting and refusing calls take the cores). Measured
    // with bench/admission.sh at 2-3x overload on 2 cores, with the forecast
    // at the whole budget: settle p99 1.3-1.65x the median, 3.2-4.0 s for a
    // 3 s budget. At two thirds the accepted commands' p99 stays within
    // max_delay (BENCHMARKS-admission.md). 1: forecast against the whole
    // budget.
    double forecast_share = 2.0 / 3.0;
    // Rounds of the pipeline from a command's commit to its decision (see
    // above). 1 measures only the first hop; an order takes 2 (stock, then
    // the saga), a coupon request 1.
    int rounds = 1;
    // Busy time (with a backlog) per rate sample: long enough to span
    // several pipeline rounds, so a sample is not one batch's step.
    absl::Duration rate_sample = absl::Milliseconds(250);
    // The rate is the events decided over the busy time of this many last
    // samples (8: two seconds): long enough to even out the decided
    // watermark's steps (it moves by whole batches, up to thousands of
    // events at once), short enough to follow the node's rate under the
    // load of the moment.
    size_t rate_history = 8;
    // A sample counts only while at least this much work (at the sample's
    // rate) stayed queued: the pipeline never waited for work. Above what
    // a light load keeps queued (its decision latency, 5-20 ms).
    absl::Duration rate_min_queued = absl::Milliseconds(50);
  };

  // What Observe saw: the admission figures as of `now`.
  struct Figures {
    // Events accepted but not decided yet (head minus decided watermark).
    uint64_t backlog_events = 0;
    // How long the oldest undecided command has waited (zero when nothing
    // is undecided).
    absl::Duration delay;
    // The measured decision rate, events/s; 0 until a sample was taken.
    // Kept while idle.
    double rate = 0;
    // The decided watermark has moved since start: warm-up is over.
    bool deciding = false;
  };

  // A sample closes with at least this many events decided: the decided
  // watermark moves by whole batches (hundreds of events), so fewer over a
  // sample's time is a pause or a ramp-up, not a rate.
  static constexpr uint64_t kMinSampleEvents = 100;
  // The forecast applies once this many samples were measured since start
  // (a second of busy time with work queued): the first ones after a start
  // catch the pipeline ramping up.
  static constexpr uint64_t kMinSamples = 4;
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

  // Reads the head and the decided watermark now and updates the figures
  // (for metrics: they are fresh when scraped, and zero once everything is
  // decided, whether or not commands arrive).
  Figures Observe(absl::Time now = absl::Now());

  uint64_t rejected() const;

 private:
  // The watermark first: the answers to everything at or below it are then
  // at or below the head read after it (round targets must not be early).
  std::pair<uint64_t, uint64_t> Read() const;
  Figures UpdateLocked(uint64_t head, uint64_t decided, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TrackRoundsLocked(uint64_t head, uint64_t decided, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MeasureRateLocked(uint64_t backlog, uint64_t decided, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const std::function<uint64_t()> head_;
  const std::function<uint64_t()> decided_;

  mutable absl::Mutex mu_;
  // What each round still waits for: (target position, when the oldest
  // command it stands for was first seen committed). rounds_[0] holds head
  // positions as observed; when the decided watermark passes an entry's
  // target it moves to the next round with the head of that moment as its
  // target, and leaves the last round decided. Each deque is increasing in
  // both target and time.
  std::vector<std::deque<std::pair<uint64_t, absl::Time>>> rounds_ ABSL_GUARDED_BY(mu_);
  uint64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  // The last observation (maxima: concurrent callers may apply theirs out
  // of order, and neither figure goes back).
  bool observed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t last_head_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_decided_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_seen_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Warm-up: the decided watermark at the first observation, and when it
  // was first seen above it.
  uint64_t start_decided_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Time> deciding_since_ ABSL_GUARDED_BY(mu_);
  // The rate sample being taken: busy time and decided events since it
  // began, and the smallest backlog seen meanwhile.
  absl::Duration sample_busy_ ABSL_GUARDED_BY(mu_);
  uint64_t sample_decided_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t sample_min_backlog_ ABSL_GUARDED_BY(mu_) = 0;
  // The last rate_history samples: (events decided, busy time).
  std::deque<std::pair<uint64_t, absl::Duration>> samples_ ABSL_GUARDED_BY(mu_);
  uint64_t samples_taken_ ABSL_GUARDED_BY(mu_) = 0;  // since start
  double rate_ ABSL_GUARDED_BY(mu_) = 0;             // events/s over samples_; 0: none yet
};

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_ADMISSION_H_
