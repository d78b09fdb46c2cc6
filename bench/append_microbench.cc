// Microbenchmarks of EventStore::Append through its public API in a temp dir:
// one synchronous caller (an fsync per append) versus many concurrent callers
// (group commit shares the fsync), in both durability modes.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "bench/sample_event.h"
#include "eventstore/event_store.h"

namespace surge::bench {
namespace {

// One store per benchmark run (shared by its threads), removed afterwards.
struct TempStore {
  std::string dir;
  std::unique_ptr<eventstore::EventStore> store;
};
TempStore* g_store = nullptr;

void OpenStore(eventstore::Durability durability) {
  g_store = new TempStore;
  g_store->dir = (std::filesystem::temp_directory_path() /
                  absl::StrCat("append-microbench-", getpid(), "-",
                               absl::ToUnixNanos(absl::Now())))
                     .string();
  eventstore::Options options;
  options.durability = durability;
  auto store = eventstore::EventStore::Open(options, g_store->dir);
  if (!store.ok()) std::abort();
  g_store->store = std::move(*store);
}

void CloseStore() {
  g_store->store.reset();
  std::filesystem::remove_all(g_store->dir);
  delete g_store;
  g_store = nullptr;
}

void BM_Append(benchmark::State& state, eventstore::Durability durability) {
  if (state.thread_index() == 0) OpenStore(durability);
  // Threads start together after setup (benchmark's own barrier).
  uint64_t i = static_cast<uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    eventstore::AppendRequest request;
    v1::Event e = SampleCouponEvent(++i);
    e.clear_position();
    e.clear_event_id();
    e.set_stream_id(absl::StrCat("campaign-", state.thread_index()));
    request.events.push_back(std::move(e));
    auto result = g_store->store->Append(std::move(request));
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    state.counters["batch_appends_avg"] =
        static_cast<double>(g_store->store->GetStats().appends) /
        static_cast<double>(std::max<uint64_t>(1, g_store->store->GetStats().batches));
  }
  if (state.thread_index() == 0) CloseStore();
}

BENCHMARK_CAPTURE(BM_Append, sync, eventstore::Durability::kSync)
    ->ThreadRange(1, 64)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_Append, async, eventstore::Durability::kAsync)
    ->ThreadRange(1, 64)->UseRealTime()->MinTime(1.0);

}  // namespace
}  // namespace surge::bench

BENCHMARK_MAIN();
