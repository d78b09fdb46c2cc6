// Group commit: batching, per-append isolation inside a batch, backpressure
// and draining at close.
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_util.h"

namespace surge::eventstore {
namespace {

using testing::AppenderPause;
using testing::CouponEvent;
using testing::OneEvent;
using testing::ScratchDir;

// Collects the answers of async appends, in submission order.
class Answers {
 public:
  explicit Answers(size_t n) : results_(n, absl::UnknownError("not answered")) {}
  EventStore::AppendCallback For(size_t i) {
    return [this, i](absl::StatusOr<AppendResult> result) {
      absl::MutexLock lock(&mu_);
      results_[i] = std::move(result);
      ++answered_;
    };
  }
  bool WaitAll() {
    absl::MutexLock lock(&mu_);
    auto all = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return answered_ == results_.size(); };
    return mu_.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(20));
  }
  absl::StatusOr<AppendResult> Get(size_t i) {
    absl::MutexLock lock(&mu_);
    return results_[i];
  }
  size_t answered() {
    absl::MutexLock lock(&mu_);
    return answered_;
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::StatusOr<AppendResult>> results_ ABSL_GUARDED_BY(mu_);
  size_t answered_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(GroupCommitTest, GroupsConcurrentAppendsIntoFewBatches) {
  ScratchDir dir;
  auto store = std::move(EventStore::Open(Options(), dir.data())).value();
  absl::Mutex observed_mu;
  size_t observed_appends = 0;
  store->SetBatchObserver([&](size_t appends, absl::Duration) {
    absl::MutexLock lock(&observed_mu);
    observed_appends += appends;
  });
  constexpr int kThreads = 32;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store->Append(OneEvent("t" + std::to_string(t))).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const EventStore::Stats stats = store->GetStats();
  EXPECT_EQ(stats.appends, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(stats.events, uint64_t{kThreads * kPerThread});
  {
    // The observer runs after the callers are answered: wait for the last.
    absl::MutexLock lock(&observed_mu);
    auto all_observed = [&] { return observed_appends == size_t{kThreads * kPerThread}; };
    EXPECT_TRUE(observed_mu.AwaitWithTimeout(absl::Condition(&all_observed), absl::Seconds(10)))
        << observed_appends;
  }
  EXPECT_LT(stats.batches, stats.appends / 4) << "group commit did not group";
  EXPECT_EQ(store->HeadPosition(), uint64_t{kThreads * kPerThread});
  // Each thread's stream got versions 0..199 in order of its appends.
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(*store->StreamVersion("t" + std::to_string(t)), kPerThread - 1);
  }
}

TEST(GroupCommitTest, ConflictInBatchDoesNotDisturbOthers) {
  ScratchDir dir;
  AppenderPause pause;
  auto store = std::move(EventStore::Open(Options(), dir.data())).value();
  pause.Install(*store);
  ASSERT_TRUE(store->Append(OneEvent("warmup")).ok());
  ASSERT_TRUE(pause.WaitUntilPaused());

  Answers answers(4);
  store->AppendAsync(OneEvent("s", kNoStream), answers.For(0));
  store->AppendAsync(OneEvent("s", kNoStream), answers.For(1));  // conflicts with #0
  store->AppendAsync(OneEvent("t", kNoStream), answers.For(2));
  store->AppendAsync(OneEvent("s", 0), answers.For(3));  // sees #0's version
  pause.Release();
  ASSERT_TRUE(answers.WaitAll());

  ASSERT_TRUE(answers.Get(0).ok()) << answers.Get(0).status();
  EXPECT_EQ(answers.Get(0)->first_position, 2u);
  EXPECT_EQ(answers.Get(1).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ConflictVersion(answers.Get(1).status()), 0);
  ASSERT_TRUE(answers.Get(2).ok()) << answers.Get(2).status();
  EXPECT_EQ(answers.Get(2)->first_position, 3u);
  ASSERT_TRUE(answers.Get(3).ok()) << answers.Get(3).status();
  EXPECT_EQ(answers.Get(3)->first_position, 4u);
  EXPECT_EQ(store->GetStats().last_batch_appends, 4u);
  EXPECT_EQ(store->GetStats().batches, 2u);
  EXPECT_EQ(store->HeadPosition(), 4u);
  EXPECT_EQ(*store->StreamVersion("s"), 1);
}

TEST(GroupCommitTest, SameKeyTwiceInOneBatchIsADuplicate) {
  ScratchDir dir;
  AppenderPause pause;
  auto store = std::move(EventStore::Open(Options(), dir.data())).value();
  pause.Install(*store);
  ASSERT_TRUE(store->Append(OneEvent("warmup")).ok());
  ASSERT_TRUE(pause.WaitUntilPaused());

  Answers answers(3);
  AppendRequest request;
  request.events = {CouponEvent("s"), CouponEvent("s")};
  request.idempotency_key = "k";
  request.fingerprint = "fp";
  request.reply = "first";
  store->AppendAsync(request, answers.For(0));
  request.reply = "second";
  store->AppendAsync(request, answers.For(1));
  request.fingerprint = "other";
  store->AppendAsync(request, answers.For(2));
  pause.Release();
  ASSERT_TRUE(answers.WaitAll());

  ASSERT_TRUE(answers.Get(0).ok());
  ASSERT_TRUE(answers.Get(1).ok());
  EXPECT_FALSE(answers.Get(0)->duplicate);
  EXPECT_TRUE(answers.Get(1)->duplicate);
  EXPECT_EQ(answers.Get(1)->first_position, answers.Get(0)->first_position);
  EXPECT_EQ(answers.Get(1)->event_ids, answers.Get(0)->event_ids);
  EXPECT_EQ(answers.Get(1)->reply, "first");
  EXPECT_EQ(answers.Get(2).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->HeadPosition(), 3u);
}

TEST(GroupCommitTest, FullQueueIsResourceExhausted) {
  ScratchDir dir;
  AppenderPause pause;
  Options options;
  options.queue_capacity = 4;
  auto store = std::move(EventStore::Open(options, dir.data())).value();
  pause.Install(*store);
  ASSERT_TRUE(store->Append(OneEvent("warmup")).ok());
  ASSERT_TRUE(pause.WaitUntilPaused());

  Answers answers(6);
  for (size_t i = 0; i < 6; ++i) store->AppendAsync(OneEvent("s"), answers.For(i));
  // The refusals are answered at once, before the appender moves.
  EXPECT_EQ(answers.answered(), 2u);
  EXPECT_EQ(answers.Get(4).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(answers.Get(5).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(store->GetStats().rejected_queue_full, 2u);
  EXPECT_EQ(store->GetStats().queue_depth, 4u);
  pause.Release();
  ASSERT_TRUE(answers.WaitAll());
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(answers.Get(i).ok()) << i;
  EXPECT_EQ(store->HeadPosition(), 5u);
}

TEST(GroupCommitTest, BatchesRespectMaxBatchAppends) {
  ScratchDir dir;
  AppenderPause pause;
  Options options;
  options.max_batch_appends = 3;
  auto store = std::move(EventStore::Open(options, dir.data())).value();
  pause.Install(*store);
  ASSERT_TRUE(store->Append(OneEvent("warmup")).ok());
  ASSERT_TRUE(pause.WaitUntilPaused());
  Answers answers(7);
  for (size_t i = 0; i < 7; ++i) store->AppendAsync(OneEvent("s"), answers.For(i));
  pause.Release();
  ASSERT_TRUE(answers.WaitAll());
  EXPECT_EQ(store->GetStats().batches, 1u + 3u);  // warmup, then 3 + 3 + 1
  EXPECT_EQ(store->GetStats().last_batch_appends, 1u);
}

TEST(GroupCommitTest, DestructorDrainsQueuedAppends) {
  ScratchDir dir;
  AppenderPause pause;
  constexpr size_t kQueued = 50;
  Answers answers(kQueued);
  {
    auto store = std::move(EventStore::Open(Options(), dir.data())).value();
    pause.Install(*store);
    ASSERT_TRUE(store->Append(OneEvent("warmup")).ok());
    ASSERT_TRUE(pause.WaitUntilPaused());
    for (size_t i = 0; i < kQueued; ++i) store->AppendAsync(OneEvent("s"), answers.For(i));
    // The destructor starts while everything is still queued; releasing the
    // appender lets it drain.
    absl::Notification destroyed;
    std::thread closer([&] {
      store.reset();
      destroyed.Notify();
    });
    EXPECT_FALSE(destroyed.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
    pause.Release();
    closer.join();
    EXPECT_EQ(answers.answered(), kQueued);
  }
  for (size_t i = 0; i < kQueued; ++i) EXPECT_TRUE(answers.Get(i).ok()) << answers.Get(i).status();
  auto reopened = std::move(EventStore::Open(Options(), dir.data())).value();
  EXPECT_EQ(reopened->HeadPosition(), kQueued + 1);
}

TEST(GroupCommitTest, BlockingAppendFromCallbackIsRefusedNotDeadlocked) {
  ScratchDir dir;
  auto store = std::move(EventStore::Open(Options(), dir.data())).value();
  absl::Notification done;
  absl::Status nested;
  store->AppendAsync(OneEvent("s"), [&](absl::StatusOr<AppendResult> result) {
    EXPECT_TRUE(result.ok());
    nested = store->Append(OneEvent("s")).status();
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(nested.code(), absl::StatusCode::kFailedPrecondition) << nested;
  EXPECT_EQ(store->HeadPosition(), 1u);
}

}  // namespace
}  // namespace surge::eventstore
