#include "clients/bench/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace surge::bench {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonLatency(const LatencySummary& l) {
  return absl::StrFormat(
      "{\"count\": %d, \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
      "\"p999_us\": %.1f, \"max_us\": %.1f, \"mean_us\": %.1f}",
      l.count, l.p50, l.p90, l.p99, l.p999, l.max, l.mean);
}

std::string Row(const std::string& name, const LatencySummary& l) {
  auto ms = [](double us) { return absl::StrFormat("%9.3f", us / 1000.0); };
  return absl::StrCat(absl::StrFormat("%-16s", name), ms(l.p50), ms(l.p90), ms(l.p99),
                      ms(l.p999), ms(l.max), absl::StrFormat("%10d", l.count), "\n");
}

}  // namespace

LatencySummary Summarize(const LatencyHistogram& ns) {
  LatencySummary s;
  s.count = ns.count();
  s.p50 = ns.Percentile(0.50) / 1000.0;
  s.p90 = ns.Percentile(0.90) / 1000.0;
  s.p99 = ns.Percentile(0.99) / 1000.0;
  s.p999 = ns.Percentile(0.999) / 1000.0;
  s.max = ns.max() / 1000.0;
  s.mean = ns.mean() / 1000.0;
  return s;
}

std::string FormatTable(const Report& r) {
  std::string out = absl::StrFormat(
      "scenario %s, %s loop, concurrency %d%s, %.2f s measured\n", r.scenario, r.mode,
      r.concurrency, r.mode == "open" ? absl::StrFormat(", rate %.0f/s", r.rate) : "",
      r.seconds);
  absl::StrAppendFormat(&out, "accepted        %d  (%.0f/s)\n", r.accepted,
                        r.accepted_per_second);
  absl::StrAppend(&out, "latency (ms)         p50      p90      p99    p99.9      max     count\n");
  absl::StrAppend(&out, Row("accept", r.accept));
  if (r.settle) absl::StrAppend(&out, Row("settle", *r.settle));
  if (r.settle_server) absl::StrAppend(&out, Row("settle@server", *r.settle_server));
  if (r.settle) {
    absl::StrAppendFormat(&out, "undecided       %d, drain after last accept %.1f ms\n",
                          r.undecided, r.drain_ms);
    absl::StrAppendFormat(&out,
                          "decided         %d  (%.0f/s until the last was decided; %.0f/s "
                          "during the load)\n",
                          r.decided, r.decided_per_second, r.decided_during_load_per_second);
  }
  if (!r.settle_error.empty()) absl::StrAppend(&out, "settle: ", r.settle_error, "\n");
  if (r.errors.empty()) {
    absl::StrAppend(&out, "errors          none\n");
  } else {
    for (const auto& [code, n] : r.errors) {
      absl::StrAppendFormat(&out, "errors          %-20s %d\n", code, n);
    }
  }
  absl::StrAppend(&out, "check           ", r.check_ok ? "OK: " : "VIOLATED: ", r.check, "\n");
  return out;
}

std::string FormatJson(const Report& r) {
  std::vector<std::string> errors;
  for (const auto& [code, n] : r.errors) errors.push_back(absl::StrCat(JsonString(code), ": ", n));
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"scenario\": ", JsonString(r.scenario), ",\n");
  absl::StrAppend(&out, "  \"mode\": ", JsonString(r.mode), ",\n");
  absl::StrAppend(&out, "  \"concurrency\": ", r.concurrency, ",\n");
  absl::StrAppendFormat(&out, "  \"rate\": %.1f,\n", r.rate);
  absl::StrAppendFormat(&out, "  \"seconds\": %.3f,\n", r.seconds);
  absl::StrAppend(&out, "  \"accepted\": ", r.accepted, ",\n");
  absl::StrAppendFormat(&out, "  \"accepted_per_second\": %.1f,\n", r.accepted_per_second);
  absl::StrAppend(&out, "  \"errors\": {", absl::StrJoin(errors, ", "), "},\n");
  absl::StrAppend(&out, "  \"accept_latency\": ", JsonLatency(r.accept), ",\n");
  absl::StrAppend(&out, "  \"settle_latency\": ", r.settle ? JsonLatency(*r.settle) : "null",
                  ",\n");
  absl::StrAppend(&out, "  \"settle_latency_server\": ",
                  r.settle_server ? JsonLatency(*r.settle_server) : "null", ",\n");
  absl::StrAppend(&out, "  \"undecided\": ", r.undecided, ",\n");
  absl::StrAppendFormat(&out, "  \"drain_ms\": %.1f,\n", r.drain_ms);
  absl::StrAppend(&out, "  \"decided\": ", r.decided, ",\n");
  absl::StrAppendFormat(&out, "  \"decided_per_second\": %.1f,\n", r.decided_per_second);
  absl::StrAppendFormat(&out, "  \"decided_during_load_per_second\": %.1f,\n",
                        r.decided_during_load_per_second);
  absl::StrAppend(&out, "  \"decided_per_second_timeline\": [",
                  absl::StrJoin(r.decided_per_second_timeline, ", "), "],\n");
  absl::StrAppend(&out, "  \"settle_error\": ", JsonString(r.settle_error), ",\n");
  absl::StrAppend(&out, "  \"check_ok\": ", r.check_ok ? "true" : "false", ",\n");
  absl::StrAppend(&out, "  \"check\": ", JsonString(r.check), ",\n");
  absl::StrAppend(&out, "  \"accepted_per_second_timeline\": [",
                  absl::StrJoin(r.accepted_per_second_timeline, ", "), "]\n");
  absl::StrAppend(&out, "}\n");
  return out;
}

}  // namespace surge::bench
