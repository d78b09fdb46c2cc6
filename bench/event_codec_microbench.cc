// Microbenchmarks of event encode/decode: the per-event cost on every hop
// (append, relay, projection, Subscribe).
#include <string>

#include "benchmark/benchmark.h"
#include "bench/sample_event.h"

namespace surge::bench {
namespace {

void BM_EncodeEvent(benchmark::State& state) {
  const v1::Event e = SampleCouponEvent(42);
  std::string out;
  for (auto _ : state) {
    out.clear();
    e.SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
}
BENCHMARK(BM_EncodeEvent);

void BM_DecodeEvent(benchmark::State& state) {
  const std::string bytes = SampleCouponEvent(42).SerializeAsString();
  v1::Event e;
  for (auto _ : state) {
    benchmark::DoNotOptimize(e.ParseFromString(bytes));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_DecodeEvent);

void BM_BuildAndEncodeEvent(benchmark::State& state) {
  uint64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(SampleCouponEvent(++i).SerializeAsString());
  }
}
BENCHMARK(BM_BuildAndEncodeEvent);

}  // namespace
}  // namespace surge::bench

BENCHMARK_MAIN();
