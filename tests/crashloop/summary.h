// The crash loop's figures and how they are shown: a plain-text table on
// stdout and a markdown section for RELIABILITY.md (--report).
#ifndef SURGE_TESTS_CRASHLOOP_SUMMARY_H_
#define SURGE_TESTS_CRASHLOOP_SUMMARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/crashloop/invariants.h"
#include "tests/crashloop/workload.h"

namespace surge::crashloop {

struct Summary {
  uint64_t seed = 0;
  int threads = 0;
  int cycles_requested = 0;
  int cycles_survived = 0;  // kill + restart + serving again
  int kills = 0;            // SIGKILLs sent
  int64_t commands = 0;     // distinct commands (request ids) sent
  int64_t acknowledged = 0;
  int64_t retried = 0;          // commands resent at least once
  int64_t unknown_outcomes = 0; // sends that ended without an answer
  int64_t duplicates = 0;       // retries answered "already applied" (durable before the kill)
  int64_t orders_confirmed = 0;
  int64_t orders_cancelled = 0;
  int64_t coupons_issued = 0;
  int64_t log_events = 0;
  absl::Duration restart_min = absl::InfiniteDuration();
  absl::Duration restart_max = absl::ZeroDuration();
  absl::Duration restart_total = absl::ZeroDuration();
  absl::Duration wall_time = absl::ZeroDuration();
  std::vector<std::string> notes;  // fatal problems outside the invariants
};

// Adds the per-command figures of `records`.
void Tally(const std::vector<CommandRecord>& records, Summary* summary);

std::string SummaryTable(const Summary& summary, const InvariantReport& report);
std::string MarkdownReport(const Summary& summary, const InvariantReport& report,
                           const std::string& command_line);

}  // namespace surge::crashloop

#endif  // SURGE_TESTS_CRASHLOOP_SUMMARY_H_
