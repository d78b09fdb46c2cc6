// The figures of one surge-bench run, printed as a table and as JSON.
#ifndef SURGE_CLIENTS_BENCH_REPORT_H_
#define SURGE_CLIENTS_BENCH_REPORT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "clients/bench/histogram.h"

namespace surge::bench {

// Percentiles in microseconds.
struct LatencySummary {
  uint64_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};
LatencySummary Summarize(const LatencyHistogram& ns);

struct Report {
  std::string scenario;
  std::string mode;          // "closed" or "open"
  int concurrency = 0;
  double rate = 0;           // open loop only
  double seconds = 0;        // measured phase
  uint64_t accepted = 0;
  double accepted_per_second = 0;
  std::map<std::string, uint64_t> errors;  // gRPC code name -> count
  LatencySummary accept;
  std::optional<LatencySummary> settle;    // absent for scenarios without decisions
  // The same commands on the server's clock (command commit -> decision
  // commit); absent when the stream carried no recorded_at pairs.
  std::optional<LatencySummary> settle_server;
  uint64_t undecided = 0;
  double drain_ms = 0;       // last decision - last acceptance
  // Decided throughput (commands whose decision came later): measured
  // commands decided, over the time from the first measured call until the
  // last of them was both answered and decided (what a peer that decides
  // inside its call, e.g. a database transaction, calls throughput).
  uint64_t decided = 0;
  double decided_per_second = 0;
  // Decisions of any of this run's commands seen while the measured load
  // ran, per second of it: the pipeline's deciding rate under that load.
  double decided_during_load_per_second = 0;
  std::vector<uint64_t> decided_per_second_timeline;  // measured decisions per second
  std::string settle_error;  // why settle figures are missing or partial
  bool check_ok = true;
  std::string check;         // the invariant check's summary or violation
  std::vector<uint64_t> accepted_per_second_timeline;
};

std::string FormatTable(const Report& report);
std::string FormatJson(const Report& report);

}  // namespace surge::bench

#endif  // SURGE_CLIENTS_BENCH_REPORT_H_
