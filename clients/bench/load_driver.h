// Drives one asynchronous operation at a time per slot, closed or open loop,
// and measures accept latency, errors by status code and throughput over time.
//
//   LoadDriver driver(options);
//   LoadResult r = driver.Run([&](uint64_t i, bool measured, LoadDriver::Done done) {
//     StartMyAsyncCall(i, std::move(done));   // done(status) exactly once
//   });
//
// Closed loop keeps `concurrency` calls in flight: a completion starts the
// next call, so latency never includes client-side queueing (and hides the
// server's). Open loop starts calls at a fixed `rate`; latency is measured
// from each call's intended start time, so a server that falls behind shows
// the queueing it causes (no coordinated omission). `concurrency` then caps
// the calls in flight, as a guard against unbounded memory.
//
// Thread-safety: Run() is called once from one thread; `done` may be called
// from any thread.
#ifndef SURGE_CLIENTS_BENCH_LOAD_DRIVER_H_
#define SURGE_CLIENTS_BENCH_LOAD_DRIVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/bench/histogram.h"
#include "grpcpp/support/status.h"

namespace surge::bench {

struct LoadOptions {
  // Closed loop: calls in flight. Open loop: most calls in flight.
  int concurrency = 64;
  // Calls started per second; 0 = closed loop.
  double rate = 0;
  // Length of the measured phase (ignored when `requests` > 0).
  absl::Duration duration = absl::Seconds(10);
  // When > 0, the measured phase is exactly this many calls.
  int64_t requests = 0;
  // Calls before the measured phase, excluded from every figure.
  absl::Duration warmup = absl::Seconds(2);
  // Closed loop: a slot whose call was refused with RESOURCE_EXHAUSTED
  // waits this long before its next call, as a client honouring the
  // server's "retry with backoff" does. Zero: the next call at once.
  absl::Duration refused_backoff = absl::Milliseconds(10);
};

struct LoadResult {
  uint64_t ok = 0;                              // measured calls answered OK
  std::map<int, uint64_t> errors;               // measured calls by gRPC code
  absl::Duration elapsed;                       // first measured start -> last answer
  std::shared_ptr<LatencyHistogram> latency_ns;  // OK calls only
  std::vector<uint64_t> ok_per_second;          // timeline of the measured phase
  absl::Time measured_start;
  absl::Time last_answer;
};

class LoadDriver {
 public:
  using Done = std::function<void(const grpc::Status&)>;
  // Starts call `index`; `measured` is false during warm-up.
  using StartFn = std::function<void(uint64_t index, bool measured, Done done)>;

  explicit LoadDriver(LoadOptions options) : options_(options) {}
  LoadResult Run(const StartFn& start);

 private:
  struct Phase;
  void StartOne(const StartFn& start, absl::Time intended);
  // Records one answer; returns true when the closed loop should continue.
  void Finish(bool measured, absl::Time intended, const grpc::Status& status);
  bool StillRunning(absl::Time now);

  const LoadOptions options_;
  std::shared_ptr<LatencyHistogram> latency_ = std::make_shared<LatencyHistogram>();
  std::atomic<uint64_t> next_index_{0};

  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool measuring_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int64_t measured_started_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time warmup_end_ ABSL_GUARDED_BY(mu_);
  absl::Time end_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  uint64_t ok_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int, uint64_t> errors_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> ok_per_second_ ABSL_GUARDED_BY(mu_);
  absl::Time last_answer_ ABSL_GUARDED_BY(mu_);
  // Closed loop: when each backing-off slot is due to call again.
  std::multiset<absl::Time> delayed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::bench

#endif  // SURGE_CLIENTS_BENCH_LOAD_DRIVER_H_
