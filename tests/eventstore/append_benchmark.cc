// Append throughput, sync vs async durability, 1 vs 16 threads, and the
// cost of Open on a large log. Run by hand:
//   build/tests/eventstore/eventstore_append_benchmark
// "batches" and "appends/batch" show how much group commit amortises fsync.
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "eventstore/event_store.h"
#include "tests/eventstore/test_util.h"

namespace surge::eventstore {
namespace {

using testing::OneEvent;
using testing::ScratchDir;

std::unique_ptr<ScratchDir> g_dir;
std::unique_ptr<EventStore> g_store;

void OpenStore(const benchmark::State& state) {
  g_dir = std::make_unique<ScratchDir>();
  Options options;
  options.durability = state.range(0) == 1 ? Durability::kSync : Durability::kAsync;
  g_store = std::move(EventStore::Open(options, g_dir->data())).value();
}

void CloseStore(const benchmark::State&) {
  g_store.reset();
  g_dir.reset();
}

void BM_Append(benchmark::State& state) {
  const std::string stream = "bench-" + std::to_string(state.thread_index());
  for (auto _ : state) {
    auto result = g_store->Append(OneEvent(stream));
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const EventStore::Stats stats = g_store->GetStats();
    state.counters["batches"] = static_cast<double>(stats.batches);
    state.counters["appends/batch"] =
        stats.batches == 0 ? 0 : static_cast<double>(stats.appends) / stats.batches;
  }
}
BENCHMARK(BM_Append)
    ->ArgName("sync")
    ->Arg(1)
    ->Arg(0)
    ->Threads(1)
    ->Threads(16)
    ->UseRealTime()
    ->Setup(OpenStore)
    ->Teardown(CloseStore);

// Open restores the head from the last key, not by replay: its time must not
// grow with the log.
void BM_OpenLargeLog(benchmark::State& state) {
  ScratchDir dir;
  {
    Options options;
    options.durability = Durability::kAsync;
    auto store = std::move(EventStore::Open(options, dir.data())).value();
    absl::Mutex mu;
    int64_t pending = state.range(0);
    for (int64_t i = 0; i < state.range(0); ++i) {
      // Retry on backpressure: the queue is bounded on purpose.
      while (true) {
        absl::Status status;
        store->AppendAsync(OneEvent("s" + std::to_string(i % 1000)),
                           [&](absl::StatusOr<AppendResult> r) {
                             if (!r.ok()) {
                               status = r.status();
                               if (absl::IsResourceExhausted(status)) return;
                             }
                             absl::MutexLock lock(&mu);
                             --pending;
                           });
        if (!absl::IsResourceExhausted(status)) break;
        store->WaitForHead(store->HeadPosition() + 1, absl::Now() + absl::Seconds(1));
      }
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int64_t* p) { return *p == 0; }, &pending));
  }
  for (auto _ : state) {
    auto store = EventStore::Open(Options(), dir.data());
    if (!store.ok() || (*store)->HeadPosition() != static_cast<uint64_t>(state.range(0))) {
      state.SkipWithError("wrong head after reopen");
      break;
    }
  }
}
BENCHMARK(BM_OpenLargeLog)->Arg(1000)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace surge::eventstore

BENCHMARK_MAIN();
