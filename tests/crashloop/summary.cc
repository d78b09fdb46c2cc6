#include "tests/crashloop/summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace surge::crashloop {
namespace {

std::string Millis(absl::Duration d) {
  return absl::StrFormat("%.0f ms", absl::ToDoubleMilliseconds(d));
}

std::string AvgRestart(const Summary& s) {
  return s.cycles_survived == 0 ? "-" : Millis(s.restart_total / s.cycles_survived);
}

std::vector<std::pair<std::string, std::string>> Rows(const Summary& s,
                                                      const InvariantReport& report) {
  return {
      {"seed", absl::StrCat(s.seed)},
      {"client threads", absl::StrCat(s.threads)},
      {"cycles survived", absl::StrCat(s.cycles_survived, " of ", s.cycles_requested)},
      {"kills (SIGKILL)", absl::StrCat(s.kills)},
      {"commands sent", absl::StrCat(s.commands)},
      {"commands acknowledged", absl::StrCat(s.acknowledged)},
      {"commands retried (same request_id)", absl::StrCat(s.retried)},
      {"sends cut by a fault (outcome unknown)", absl::StrCat(s.unknown_outcomes)},
      {"retries answered as already applied", absl::StrCat(s.duplicates)},
      {"orders confirmed / cancelled", absl::StrCat(s.orders_confirmed, " / ", s.orders_cancelled)},
      {"coupons issued", absl::StrCat(s.coupons_issued)},
      {"log events", absl::StrCat(s.log_events)},
      {"restart to serving (min / avg / max)",
       s.cycles_survived == 0
           ? "-"
           : absl::StrCat(Millis(s.restart_min), " / ", AvgRestart(s), " / ", Millis(s.restart_max))},
      {"invariant checks", absl::StrCat(report.checks())},
      {"violations", absl::StrCat(report.violation_count())},
      {"wall time", absl::StrFormat("%.1f s", absl::ToDoubleSeconds(s.wall_time))},
  };
}

}  // namespace

void Tally(const std::vector<CommandRecord>& records, Summary* summary) {
  for (const CommandRecord& r : records) {
    ++summary->commands;
    if (r.acknowledged) ++summary->acknowledged;
    if (r.attempts > 1) ++summary->retried;
    summary->unknown_outcomes += r.unknown_outcomes;
    if (r.acknowledged && r.duplicate) ++summary->duplicates;
  }
}

std::string SummaryTable(const Summary& s, const InvariantReport& report) {
  std::string out = "\n=== surge crash loop ===\n";
  for (const auto& [name, value] : Rows(s, report)) {
    absl::StrAppend(&out, absl::StrFormat("  %-40s %s\n", name, value));
  }
  absl::StrAppend(&out, "  invariants:\n");
  for (const auto& [name, counts] : report.by_invariant()) {
    absl::StrAppend(&out, absl::StrFormat("    %-52s %7d checks  %d violations\n", name,
                                          counts.first, counts.second));
  }
  for (const std::string& note : s.notes) absl::StrAppend(&out, "  FATAL: ", note, "\n");
  for (const std::string& v : report.violations()) absl::StrAppend(&out, "  VIOLATION ", v, "\n");
  absl::StrAppend(&out, report.ok() && s.notes.empty() ? "  verdict: PASS\n" : "  verdict: FAIL\n");
  return out;
}

std::string MarkdownReport(const Summary& s, const InvariantReport& report,
                           const std::string& command_line) {
  std::string out = "## Crash loop (SIGKILL under mixed load)\n\n";
  absl::StrAppend(&out, "Run: `", command_line, "`\n\n| figure | value |\n| --- | --- |\n");
  for (const auto& [name, value] : Rows(s, report)) {
    absl::StrAppend(&out, "| ", name, " | ", value, " |\n");
  }
  absl::StrAppend(
      &out, "\n| invariant (ARCHITECTURE.md §2) | checks | violations |\n| --- | ---: | ---: |\n");
  for (const auto& [name, counts] : report.by_invariant()) {
    absl::StrAppend(&out, "| ", name, " | ", counts.first, " | ", counts.second, " |\n");
  }
  absl::StrAppend(&out, "\nVerdict: **", report.ok() && s.notes.empty() ? "PASS" : "FAIL", "**\n");
  for (const std::string& note : s.notes) absl::StrAppend(&out, "\n- fatal: ", note);
  for (const std::string& v : report.violations()) absl::StrAppend(&out, "\n- violation: ", v);
  if (!s.notes.empty() || !report.violations().empty()) absl::StrAppend(&out, "\n");
  return out;
}

}  // namespace surge::crashloop
