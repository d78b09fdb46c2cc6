// Floods a real surge-server child process and measures its resident memory
// (issue 6: "a flood gets RESOURCE_EXHAUSTED, memory stays bounded"). Shared
// by the ctest (flood_test.cc, which asserts) and surge-flood-report (which
// prints the figures for RELIABILITY-flood.md).
//
//   SURGE_ASSIGN_OR_RETURN(FloodReport report, RunPlaceOrderFlood({}));
//   EXPECT_LT(report.memory.growth_kib(), report.bound_kib) << report.bound_reason;
//
// Each flood starts its own server (fresh data dir, embedded broker) so its
// baseline is not another flood's leftovers, and kills it at the end.
// Not thread-safe: run one flood at a time.
#ifndef SURGE_TESTS_FLOOD_FLOOD_RUNNER_H_
#define SURGE_TESTS_FLOOD_FLOOD_RUNNER_H_

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/flood/proc_memory.h"

namespace surge::testing {

// What one flood did to the server.
struct FloodReport {
  std::string name;   // short title, e.g. "PlaceOrder x6000, 4000 in flight"
  std::string setup;  // server flags and load shape, one line
  int64_t calls = 0;  // calls / streams started by the flood
  // Final status of every call or stream of the flood, by code.
  std::map<grpc::StatusCode, int64_t> statuses;
  MemoryFigures memory;      // the server's resident memory over the flood
  uint64_t head_before = 0;  // log head before and after
  uint64_t head_after = 0;
  // Events in the log whose request_id is one of the flood's refused calls
  // (oversize flood only; -1 when not counted).
  int64_t events_from_refused = -1;
  absl::Duration elapsed;
  // A plain call (health SERVING and a one-line PlaceOrder) after the flood.
  grpc::Status served_after;
  // Flood-specific facts (e.g. streams still open while the log grew).
  std::vector<std::pair<std::string, std::string>> facts;
  // Growth of peak over before that the flood must stay under, and why.
  int64_t bound_kib = 0;
  std::string bound_reason;

  int64_t count(grpc::StatusCode code) const {
    auto it = statuses.find(code);
    return it == statuses.end() ? 0 : it->second;
  }
};

struct PlaceOrderFloodOptions {
  // Calls in all, and most in flight at once (callback API, several channels).
  int total_calls = 6000;
  int in_flight = 4000;
  // Every n-th call is the largest valid order (100 lines, 128-byte ids and
  // SKUs: ~14 KiB); the others are one-line orders.
  int large_every = 2;
  int channels = 8;
  // The append queue's capacity for this flood, small so that it overflows.
  // Applied only when surge-server has an --append_queue_capacity flag.
  int append_queue_capacity = 128;
};

struct SubscribeFloodOptions {
  // --max_subscriptions for the server; the flood opens `extra` more.
  int max_subscriptions = 100;
  int extra = 10;
  // Events the flood's orders append (20-line orders: 21 events each); the
  // projections roughly double it.
  int64_t events_to_append = 40000;
};

struct OversizeFloodOptions {
  // PlaceOrder calls whose request exceeds the server's 4 MiB limit, half at
  // 4 MiB + 64 KiB and half at 3x the limit, `in_flight` at a time.
  int calls = 48;
  int in_flight = 8;
};

absl::StatusOr<FloodReport> RunPlaceOrderFlood(const PlaceOrderFloodOptions& options);
absl::StatusOr<FloodReport> RunSubscribeFlood(const SubscribeFloodOptions& options);
absl::StatusOr<FloodReport> RunOversizeFlood(const OversizeFloodOptions& options);

// A markdown section with one table per report.
std::string MarkdownSection(const std::vector<FloodReport>& reports);

}  // namespace surge::testing

#endif  // SURGE_TESTS_FLOOD_FLOOD_RUNNER_H_
