#include "server/internal/admission.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <optional>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace surge::server::internal {
namespace {

// A log head and decided watermark the test moves by hand.
struct FakePipeline {
  std::atomic<uint64_t> head{0};
  std::atomic<uint64_t> decided{0};
  Admission Make(Admission::Options options) {
    return Admission(
        options, [this] { return head.load(); }, [this] { return decided.load(); });
  }
};

const absl::Time kT0 = absl::FromUnixSeconds(1'000'000);

// Ends warm-up a second before kT0: one command decided, nothing undecided.
void WarmUp(FakePipeline& p, Admission& admission) {
  p.head = p.head + 1;
  ASSERT_TRUE(admission.Admit(kT0 - absl::Seconds(1)).ok());
  p.decided = p.head.load();
  ASSERT_TRUE(admission.Observe(kT0 - absl::Seconds(1) + absl::Milliseconds(1)).deciding);
}

// A simulated node: one Admit per offered command (one event each), and a
// pipeline that decides `decide_rate` events/s whenever it has a backlog.
// Time is simulated; nothing sleeps.
class Simulation {
 public:
  Simulation(FakePipeline& p, Admission& admission, absl::Time now)
      : p_(p), admission_(admission), now_(now) {}

  struct Result {
    uint64_t accepted = 0;
    uint64_t refused = 0;
    std::optional<absl::Duration> first_refusal;  // since the run began
    std::string refusal;                          // the first one's message
    uint64_t max_backlog = 0;
  };

  // Offers `offered_rate` commands/s for `duration`.
  Result Run(double offered_rate, double decide_rate, absl::Duration duration) {
    Result result;
    const absl::Duration step = absl::Seconds(1) / offered_rate;
    const absl::Time begin = now_;
    for (absl::Time end = now_ + duration; now_ < end; now_ += step) {
      Decide(decide_rate, step);
      const absl::Status status = admission_.Admit(now_);
      if (status.ok()) {
        ++result.accepted;
        p_.head = p_.head + 1;
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
        ++result.refused;
        if (!result.first_refusal.has_value()) {
          result.first_refusal = now_ - begin;
          result.refusal = std::string(status.message());
        }
      }
      result.max_backlog = std::max(result.max_backlog, p_.head - p_.decided);
    }
    return result;
  }

  // No new commands; the pipeline decides for `duration` (observed every
  // millisecond as a scrape would, less often in practice).
  void Drain(double decide_rate, absl::Duration duration) {
    const absl::Duration step = absl::Milliseconds(1);
    for (absl::Time end = now_ + duration; now_ < end; now_ += step) Decide(decide_rate, step);
  }

  absl::Time now() const { return now_; }

 private:
  void Decide(double rate, absl::Duration step) {
    carry_ += rate * absl::ToDoubleSeconds(step);
    const auto whole = static_cast<uint64_t>(carry_);
    carry_ -= static_cast<double>(whole);
    p_.decided = std::min(p_.head.load(), p_.decided + whole);
  }

  FakePipeline& p_;
  Admission& admission_;
  absl::Time now_;
  double carry_ = 0;
};

TEST(AdmissionTest, AdmitsWhenEverythingIsDecided) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 10, .max_delay = absl::Milliseconds(25)});
  p.head = 100;
  p.decided = 100;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  EXPECT_TRUE(admission.Admit(kT0 + absl::Seconds(10)).ok());
  EXPECT_EQ(admission.Observe(kT0 + absl::Seconds(10)).delay, absl::ZeroDuration());
  EXPECT_EQ(admission.rejected(), 0u);
}

// A burst of 18,000 events offered at 30,000/s into a node deciding
// 10,000/s: the backlog peaks at 12,000 (1.2 s of deciding), within the 3 s
// budget, so all of it is accepted.
TEST(AdmissionTest, ABurstThatDrainsWithinTheBudgetIsAcceptedInFull) {
  FakePipeline p;
  Admission admission = p.Make({});  // the defaults: 3 s, cap 100,000
  WarmUp(p, admission);
  Simulation sim(p, admission, kT0);
  const Simulation::Result burst = sim.Run(30000, 10000, absl::Milliseconds(600));
  EXPECT_EQ(burst.refused, 0u) << burst.refusal;
  EXPECT_GE(burst.accepted, 17999u);
  EXPECT_GE(burst.max_backlog, 11000u);
  EXPECT_GT(admission.Observe(sim.now()).rate, 0) << "the burst was not measured";
  sim.Drain(10000, absl::Seconds(2));
  EXPECT_EQ(p.decided.load(), p.head.load());
}

// A light load's decided events per second are its arrival rate, not what
// the node can decide: it must not be taken as the rate, or the next burst
// would be refused against it.
TEST(AdmissionTest, ALightLoadDoesNotSetTheRateABurstIsMeasuredOn) {
  FakePipeline p;
  Admission admission = p.Make({});
  WarmUp(p, admission);
  // 1,000 commands/s, each decided 20 ms after it was accepted.
  absl::Time now = kT0;
  for (int i = 0; i < 10000; ++i, now += absl::Milliseconds(1)) {
    if (p.head >= 20) p.decided = std::max<uint64_t>(p.decided, p.head - 20);
    ASSERT_TRUE(admission.Admit(now).ok());
    p.head = p.head + 1;
  }
  EXPECT_EQ(admission.Observe(now).rate, 0) << "a light load was taken for the node's rate";
  Simulation sim(p, admission, now);
  const Simulation::Result burst = sim.Run(30000, 10000, absl::Seconds(1));
  EXPECT_EQ(burst.refused, 0u) << burst.refusal;
  const double rate = admission.Observe(sim.now()).rate;
  EXPECT_GT(rate, 8000);
  EXPECT_LT(rate, 12000);
}

// A sample can catch the pipeline in a pause or ramping up: the rate is
// then measured low. A forecast from it must not refuse a burst that the
// node then decides fast: no command has waited a third of the budget.
TEST(AdmissionTest, ARateMeasuredLowDoesNotRefuseABurstDecidedFast) {
  FakePipeline p;
  // Short samples: the ramp gives the forecast its kMinSamples.
  Admission admission = p.Make({.rate_sample = absl::Milliseconds(50)});
  WarmUp(p, admission);
  Simulation sim(p, admission, kT0);
  // Ramping up: 1,000 events/s decided while 20,000/s arrive.
  Simulation::Result run = sim.Run(20000, 1000, absl::Milliseconds(600));
  EXPECT_EQ(run.refused, 0u) << run.refusal;
  const Admission::Figures ramp = admission.Observe(sim.now());
  EXPECT_GT(ramp.rate, 500);
  EXPECT_LT(ramp.rate, 1500);
  EXPECT_GT(ramp.backlog_events, 3 * 1500u);  // beyond the budget at that rate
  // Then it decides 40,000/s: the backlog drains within the budget.
  run = sim.Run(20000, 40000, absl::Seconds(1));
  EXPECT_EQ(run.refused, 0u) << run.refusal;
  EXPECT_LE(p.head - p.decided, 1u);
  EXPECT_GT(admission.Observe(sim.now()).rate, 10000);  // the drain measured too
}

// Right after warm-up the pipeline may decide a trickle while it ramps up
// (seen at 4 events/s on a loaded machine, which forecast a burst of 12,000
// events at an hour and a half): not taken for the node's rate.
TEST(AdmissionTest, ATrickleAfterWarmUpIsNotTakenForTheRate) {
  FakePipeline p;
  Admission admission = p.Make({});
  WarmUp(p, admission);
  Simulation sim(p, admission, kT0);
  Simulation::Result run = sim.Run(8000, 4, absl::Milliseconds(1500));
  EXPECT_EQ(run.refused, 0u) << run.refusal;
  EXPECT_EQ(admission.Observe(sim.now()).rate, 0);
  run = sim.Run(8000, 40000, absl::Seconds(1));  // then it decides
  EXPECT_EQ(run.refused, 0u) << run.refusal;
  EXPECT_LE(p.head - p.decided, 1u);
}

// Offered 3x what the node decides for 10 s: refusals start once the
// backlog is worth the forecast's share of the budget (2/3 x 3 s x 1,000/s,
// reached after 1 s, when the oldest has waited a third of the budget), and
// the backlog then stays about there.
TEST(AdmissionTest, SustainedOverloadIsRefusedAndTheBacklogStaysNearTheBudget) {
  FakePipeline p;
  Admission admission = p.Make({});
  WarmUp(p, admission);
  Simulation sim(p, admission, kT0);
  const Simulation::Result run = sim.Run(3000, 1000, absl::Seconds(10));
  ASSERT_TRUE(run.first_refusal.has_value()) << "never refused";
  EXPECT_GE(*run.first_refusal, absl::Seconds(1)) << run.refusal;
  EXPECT_LE(*run.first_refusal, absl::Seconds(2)) << run.refusal;
  EXPECT_TRUE(absl::StrContains(run.refusal, "--max_decision_delay_ms")) << run.refusal;
  EXPECT_GT(run.refused, 15000u);  // about 2,000/s from 1 s on
  // Until the rate is measured (kMinSamples of busy time) only the oldest's
  // wait bounds the backlog: it peaks there, then settles at the forecast's.
  EXPECT_LE(run.max_backlog, 3300u);
  const uint64_t backlog = p.head - p.decided;
  EXPECT_GE(backlog, 1700u);
  EXPECT_LE(backlog, 2300u);
  // Everything accepted is decided within the budget once the load stops,
  // with a third of it to spare for a rate that falls meanwhile.
  EXPECT_LE(absl::Seconds(static_cast<double>(backlog) / 1000), absl::Milliseconds(2300));
}

// With two rounds (an order: its stock answers, then the saga's decision)
// a new command waits for the watermark to pass the backlog twice, so the
// forecast lets half as much build up.
TEST(AdmissionTest, TwoRoundsForecastTwiceTheDrainTime) {
  FakePipeline p;
  Admission admission = p.Make({.rounds = 2});
  WarmUp(p, admission);
  Simulation sim(p, admission, kT0);
  const Simulation::Result run = sim.Run(3000, 1000, absl::Seconds(10));
  ASSERT_TRUE(run.first_refusal.has_value()) << "never refused";
  EXPECT_LE(*run.first_refusal, absl::Seconds(2)) << run.refusal;
  EXPECT_TRUE(absl::StrContains(run.refusal, "(2 rounds at the measured 1000 events/s)"))
      << run.refusal;
  const uint64_t backlog = p.head - p.decided;
  EXPECT_GE(backlog, 800u);
  EXPECT_LE(backlog, 1200u);
}

// Until the decided watermark first moves the consumers are still joining:
// only the hard cap refuses, however long the first commands wait.
TEST(AdmissionTest, WarmUpRefusesOnlyAtTheHardCap) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 5000, .max_delay = absl::Milliseconds(100)});
  p.head = 10;
  p.decided = 10;
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(admission.Admit(kT0 + absl::Milliseconds(2 * i)).ok()) << i;
    p.head = p.head + 1;
  }
  const Admission::Figures figures = admission.Observe(kT0 + absl::Seconds(10));
  EXPECT_FALSE(figures.deciding);
  EXPECT_EQ(figures.backlog_events, 5000u);
  // Measured all the same (the first command, at 11, was seen at +2 ms).
  EXPECT_EQ(figures.delay, absl::Seconds(10) - absl::Milliseconds(2));
  p.head = p.head + 1;
  const absl::Status refused = admission.Admit(kT0 + absl::Seconds(10));
  EXPECT_TRUE(absl::StrContains(refused.message(), "--max_decision_lag")) << refused;

  // The pipeline decides: warm-up is over, and the wait counts from now, so
  // the backlog has the budget to drain.
  p.decided = 20;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Seconds(10) + absl::Milliseconds(1)).ok());
  EXPECT_TRUE(admission.Observe(kT0 + absl::Seconds(10)).deciding);
  EXPECT_TRUE(admission.Admit(kT0 + absl::Seconds(10) + absl::Milliseconds(100)).ok());
  const absl::Status late = admission.Admit(kT0 + absl::Seconds(10) + absl::Milliseconds(102));
  EXPECT_EQ(late.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(late.message(), "oldest undecided command has waited 101 ms"))
      << late;
}

// Decisions that stop: the rate says nothing, the oldest wait does.
TEST(AdmissionTest, StoppedDecisionsAreRefusedAfterTheBudget) {
  FakePipeline p;
  Admission admission = p.Make({});
  WarmUp(p, admission);
  p.head = p.head + 100;  // 100 events, then nothing is decided any more
  EXPECT_TRUE(admission.Admit(kT0).ok());
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(2999)).ok());
  const absl::Status refused = admission.Admit(kT0 + absl::Milliseconds(3001));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(refused.message(),
                                "oldest undecided command has waited 3001 ms (100 events "
                                "undecided; limit 3000 ms, --max_decision_delay_ms)"))
      << refused;
  EXPECT_EQ(admission.rejected(), 1u);
  p.decided = p.head.load();  // they resume and catch up
  EXPECT_TRUE(admission.Admit(kT0 + absl::Seconds(4)).ok());
}

// The figures are read fresh: once everything is decided they are zero,
// without any new command; the measured rate is kept for the next burst.
TEST(AdmissionTest, FiguresReturnToZeroWhenEverythingIsDecided) {
  FakePipeline p;
  Admission admission = p.Make({});
  WarmUp(p, admission);
  Simulation sim(p, admission, kT0);
  sim.Run(30000, 10000, absl::Milliseconds(600));
  Admission::Figures during = admission.Observe(sim.now());
  EXPECT_GT(during.backlog_events, 0u);
  EXPECT_GT(during.delay, absl::ZeroDuration());
  const double rate = during.rate;
  EXPECT_GT(rate, 0);
  p.decided = p.head.load();  // no Admit from here on
  const Admission::Figures after = admission.Observe(sim.now() + absl::Seconds(1));
  EXPECT_EQ(after.backlog_events, 0u);
  EXPECT_EQ(after.delay, absl::ZeroDuration());
  EXPECT_EQ(after.rate, rate);
  EXPECT_TRUE(after.deciding);
  EXPECT_EQ(admission.Observe(sim.now() + absl::Minutes(5)).rate, rate);  // idle keeps it
}

// The projected drain time refuses a backlog that would not drain within
// the budget as soon as the rate is known and the oldest command has waited
// a third of the budget, before anyone has waited the budget.
TEST(AdmissionTest, ABacklogBeyondTheBudgetIsRefusedAtTheMeasuredRate) {
  FakePipeline p;
  // Short samples (of kMinSampleEvents: 100 ms here): the rate is known
  // after kMinSamples of them.
  Admission admission = p.Make(
      {.max_lag_events = 0, .max_delay = absl::Seconds(1), .rate_sample = absl::Milliseconds(50)});
  WarmUp(p, admission);
  Simulation sim(p, admission, kT0);
  const Simulation::Result run = sim.Run(20000, 1000, absl::Seconds(1));
  ASSERT_TRUE(run.first_refusal.has_value());
  EXPECT_TRUE(absl::StrContains(run.refusal, "events undecided would take")) << run.refusal;
  EXPECT_TRUE(absl::StrContains(run.refusal, "limit 666 ms: 67% of --max_decision_delay_ms 1000 ms"))
      << run.refusal;
  EXPECT_LT(*run.first_refusal, absl::Milliseconds(600));
  EXPECT_GE(run.refused, 9000u);  // none accepted after it: the backlog never drains to 1 s
}

TEST(AdmissionTest, RefusesWhileTheBacklogExceedsTheLagBound) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 100, .max_delay = absl::ZeroDuration()});
  p.head = 100;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = 101;
  const absl::Status refused = admission.Admit(kT0 + absl::Hours(1));  // no delay bound
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(refused.message(), "101 events accepted but not decided"))
      << refused.message();
  p.decided = 1;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Hours(1)).ok());
}

TEST(AdmissionTest, BothBoundsOffAdmitsEverything) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 0, .max_delay = absl::ZeroDuration()});
  WarmUp(p, admission);
  p.head = 1'000'000;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  EXPECT_TRUE(admission.Admit(kT0 + absl::Hours(1)).ok());
  EXPECT_EQ(admission.Observe(kT0 + absl::Hours(1)).delay, absl::Hours(1));  // still measured
}

TEST(AdmissionTest, HeadsSeenWithinOneMillisecondShareTheirFirstTime) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 0, .max_delay = absl::Milliseconds(25)});
  WarmUp(p, admission);
  p.head = p.head + 5;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = p.head + 1;  // coalesced into the entry of kT0
  EXPECT_TRUE(admission.Admit(kT0 + absl::Microseconds(500)).ok());
  // The last one counts as seen at kT0: at most kCoalesce early.
  EXPECT_EQ(admission.Admit(kT0 + absl::Milliseconds(25) + absl::Microseconds(100)).code(),
            absl::StatusCode::kResourceExhausted);
}

// Two rounds: a command counts as decided only once the answers appended
// while its events were applied are applied in turn, and its wait runs from
// its own commit all along.
TEST(AdmissionTest, TwoRoundsWaitForTheAnswersToBeAppliedToo) {
  FakePipeline p;
  Admission admission =
      p.Make({.max_lag_events = 0, .max_delay = absl::Milliseconds(25), .rounds = 2});
  WarmUp(p, admission);  // decided: 1
  p.head = 10;           // commands at 2..10, committed by kT0
  EXPECT_TRUE(admission.Admit(kT0).ok());
  // Round one: 2..10 applied; their answers went to 11..14 meanwhile.
  p.head = 14;
  p.decided = 10;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(10)).ok());
  EXPECT_EQ(admission.Observe(kT0 + absl::Milliseconds(10)).delay,
            absl::Milliseconds(10));  // still counted from kT0
  // 11..13 applied, 14 not yet: the commands of kT0 still wait.
  p.decided = 13;
  const absl::Status refused = admission.Admit(kT0 + absl::Milliseconds(26));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(admission.Observe(kT0 + absl::Milliseconds(26)).delay, absl::Milliseconds(26));
  // Round two done: nothing is undecided any more.
  p.decided = 14;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(27)).ok());
  EXPECT_EQ(admission.Observe(kT0 + absl::Milliseconds(27)).delay, absl::ZeroDuration());
}

// With one round (the default) the same history is decided once 2..10 are
// applied: the delay of the first hop only.
TEST(AdmissionTest, OneRoundCountsTheFirstHopOnly) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 0, .max_delay = absl::Milliseconds(25)});
  WarmUp(p, admission);
  p.head = 10;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = 14;
  p.decided = 10;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(10)).ok());
  // 11..14 were first seen at +10 ms.
  EXPECT_EQ(admission.Observe(kT0 + absl::Milliseconds(10)).delay, absl::ZeroDuration());
  p.decided = 13;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(26)).ok());
  EXPECT_EQ(admission.Observe(kT0 + absl::Milliseconds(26)).delay, absl::Milliseconds(16));
}

// Later commands keep their own, later commit times through both rounds.
TEST(AdmissionTest, TwoRoundsKeepEachCommandsOwnTime) {
  FakePipeline p;
  Admission admission =
      p.Make({.max_lag_events = 0, .max_delay = absl::Milliseconds(25), .rounds = 2});
  WarmUp(p, admission);
  p.head = 10;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = 20;  // more commands, committed by +5 ms
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(5)).ok());
  p.decided = 20;  // both batches applied once; answers up to 30
  p.head = 30;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(8)).ok());
  EXPECT_EQ(admission.Observe(kT0 + absl::Milliseconds(8)).delay, absl::Milliseconds(8));
  p.decided = 30;  // all answers applied
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(9)).ok());
  EXPECT_EQ(admission.Observe(kT0 + absl::Milliseconds(9)).delay, absl::ZeroDuration());
}

}  // namespace
}  // namespace surge::server::internal
