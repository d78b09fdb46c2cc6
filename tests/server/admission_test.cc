#include "server/internal/admission.h"

#include <atomic>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace surge::server::internal {
namespace {

// A log head and decided watermark the test moves by hand.
struct FakePipeline {
  std::atomic<uint64_t> head{0};
  std::atomic<uint64_t> decided{0};
  Admission Make(Admission::Options options) {
    return Admission(options, [this] { return head.load(); }, [this] { return decided.load(); });
  }
};

const absl::Time kT0 = absl::FromUnixSeconds(1'000'000);

TEST(AdmissionTest, AdmitsWhenEverythingIsDecided) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 10, .max_delay = absl::Milliseconds(25)});
  p.head = 100;
  p.decided = 100;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  EXPECT_TRUE(admission.Admit(kT0 + absl::Seconds(10)).ok());
  EXPECT_EQ(admission.last_delay(), absl::ZeroDuration());
  EXPECT_EQ(admission.rejected(), 0u);
}

TEST(AdmissionTest, RefusesWhileTheOldestUndecidedEventWaitsTooLong) {
  FakePipeline p;
  Admission admission = p.Make(
      {.max_lag_events = 0, .max_delay = absl::Milliseconds(25), .delay_min_lag_events = 5});
  p.decided = 1;  // decisions are being made
  p.head = 10;    // positions 2..10 accepted, seen first at kT0
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = 21;  // 11..21 seen first at kT0 + 20 ms
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(20)).ok());
  const absl::Status refused = admission.Admit(kT0 + absl::Milliseconds(26));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(refused.message(),
                                "oldest undecided command has waited 26 ms (20 events undecided; "
                                "limit 25 ms"))
      << refused.message();
  EXPECT_EQ(admission.rejected(), 1u);
  // 1..10 decided: the oldest undecided is now 11, seen at +20 ms.
  p.decided = 10;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(30)).ok());
  EXPECT_EQ(admission.last_delay(), absl::Milliseconds(10));
  p.decided = 21;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Seconds(5)).ok());
  EXPECT_EQ(admission.last_delay(), absl::ZeroDuration());
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
  p.head = 1'000'000;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  EXPECT_TRUE(admission.Admit(kT0 + absl::Hours(1)).ok());
  EXPECT_EQ(admission.last_delay(), absl::Hours(1));  // still measured
}

TEST(AdmissionTest, HeadsSeenWithinOneMillisecondShareTheirFirstTime) {
  FakePipeline p;
  Admission admission = p.Make(
      {.max_lag_events = 0, .max_delay = absl::Milliseconds(25), .delay_min_lag_events = 0});
  p.head = 5;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = 6;  // coalesced into the entry of kT0
  EXPECT_TRUE(admission.Admit(kT0 + absl::Microseconds(500)).ok());
  p.decided = 5;  // moves now: the delay bound applies
  // Position 6 counts as seen at kT0: at most kCoalesce early.
  EXPECT_EQ(admission.Admit(kT0 + absl::Milliseconds(25) + absl::Microseconds(100)).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(AdmissionTest, ASmallSlowBacklogIsNotRefused) {
  FakePipeline p;
  Admission admission = p.Make(
      {.max_lag_events = 0, .max_delay = absl::Milliseconds(25), .delay_min_lag_events = 500});
  p.decided = 1;
  p.head = 501;  // one slow batch: old, but small
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.decided = 2;  // still deciding
  EXPECT_TRUE(admission.Admit(kT0 + absl::Seconds(1)).ok());
  EXPECT_EQ(admission.last_delay(), absl::Seconds(1));
  p.head = 503;  // now more than 500 undecided
  EXPECT_EQ(admission.Admit(kT0 + absl::Seconds(1)).code(), absl::StatusCode::kResourceExhausted);
}

TEST(AdmissionTest, WhenDecisionsStopOnlyTheLagBoundRefuses) {
  // Kafka down: nothing is decided, the log buffers commands up to the lag
  // bound, however long they wait.
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 1000,
                                .max_delay = absl::Milliseconds(25),
                                .delay_min_lag_events = 10,
                                .delay_progress_window = absl::Milliseconds(250)});
  p.decided = 100;
  p.head = 100;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = 900;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(1)).ok());
  EXPECT_TRUE(admission.Admit(kT0 + absl::Seconds(30)).ok());
  EXPECT_EQ(admission.last_delay(), absl::Seconds(30) - absl::Milliseconds(1));
  p.head = 1101;
  EXPECT_TRUE(absl::StrContains(admission.Admit(kT0 + absl::Seconds(31)).message(),
                                "decision backlog"));
  // Decisions resume: the delay bound is back, and the backlog is old.
  p.decided = 150;
  EXPECT_TRUE(absl::StrContains(admission.Admit(kT0 + absl::Seconds(32)).message(),
                                "decision delay"));
}

// Two rounds: a command counts as decided only once the answers appended
// while its events were applied are applied in turn, and its wait runs from
// its own commit all along.
TEST(AdmissionTest, TwoRoundsWaitForTheAnswersToBeAppliedToo) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 0,
                                .max_delay = absl::Milliseconds(25),
                                .delay_min_lag_events = 0,
                                .rounds = 2});
  p.decided = 1;
  p.head = 10;  // commands at 2..10, committed by kT0
  EXPECT_TRUE(admission.Admit(kT0).ok());
  // Round one: 2..10 applied; their answers went to 11..14 meanwhile.
  p.head = 14;
  p.decided = 10;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(10)).ok());
  EXPECT_EQ(admission.last_delay(), absl::Milliseconds(10));  // still counted from kT0
  // 11..13 applied, 14 not yet: the commands of kT0 still wait.
  p.decided = 13;
  const absl::Status refused = admission.Admit(kT0 + absl::Milliseconds(26));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(admission.last_delay(), absl::Milliseconds(26));
  // Round two done: nothing is undecided any more.
  p.decided = 14;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(27)).ok());
  EXPECT_EQ(admission.last_delay(), absl::ZeroDuration());
}

// With one round (the default) the same history is decided once 2..10 are
// applied: the delay of the first hop only.
TEST(AdmissionTest, OneRoundCountsTheFirstHopOnly) {
  FakePipeline p;
  Admission admission = p.Make(
      {.max_lag_events = 0, .max_delay = absl::Milliseconds(25), .delay_min_lag_events = 0});
  p.decided = 1;
  p.head = 10;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = 14;
  p.decided = 10;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(10)).ok());
  // 11..14 were first seen at +10 ms.
  EXPECT_EQ(admission.last_delay(), absl::ZeroDuration());
  p.decided = 13;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(26)).ok());
  EXPECT_EQ(admission.last_delay(), absl::Milliseconds(16));
}

// Later commands keep their own, later commit times through both rounds.
TEST(AdmissionTest, TwoRoundsKeepEachCommandsOwnTime) {
  FakePipeline p;
  Admission admission = p.Make({.max_lag_events = 0,
                                .max_delay = absl::Milliseconds(25),
                                .delay_min_lag_events = 0,
                                .rounds = 2});
  p.decided = 1;
  p.head = 10;
  EXPECT_TRUE(admission.Admit(kT0).ok());
  p.head = 20;  // more commands, committed by +5 ms
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(5)).ok());
  p.decided = 20;  // both batches applied once; answers up to 30
  p.head = 30;
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(8)).ok());
  EXPECT_EQ(admission.last_delay(), absl::Milliseconds(8));
  p.decided = 30;  // all answers applied
  EXPECT_TRUE(admission.Admit(kT0 + absl::Milliseconds(9)).ok());
  EXPECT_EQ(admission.last_delay(), absl::ZeroDuration());
}

}  // namespace
}  // namespace surge::server::internal
