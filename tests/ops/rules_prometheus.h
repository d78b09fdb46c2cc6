// A PrometheusProcess (tests/metrics/prometheus_process.h) that loads the
// ops rule files, with the JSON answers the ops tests check: an instant
// query's result type and sample counts, and the loaded rule groups.
//
//   SURGE_ASSIGN_OR_RETURN(auto prom, RulesPrometheus::Start(
//       {.target_port = server->metrics_port(), .rule_files =
//       {OpsPath("prometheus/alerts.yml")}}));
//   SURGE_ASSIGN_OR_RETURN(QueryResult r, prom->Query("up"));
//
// Not thread-safe: one test thread drives it.
#ifndef SURGE_TESTS_OPS_RULES_PROMETHEUS_H_
#define SURGE_TESTS_OPS_RULES_PROMETHEUS_H_

#include <google/protobuf/struct.pb.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/metrics/prometheus_process.h"

namespace surge::testing {

// The answer of /api/v1/query for an instant query.
struct QueryResult {
  std::string result_type;  // "vector", "scalar", ...
  int samples = 0;          // series in a vector (1 for a scalar)
  int non_nan_samples = 0;  // of those, values that are numbers (not NaN)
  std::string body;         // the raw JSON, for failure messages
};

class RulesPrometheus {
 public:
  using Options = PrometheusProcess::Options;

  static bool Installed() { return PrometheusProcess::Installed(); }
  // Starts it and waits until /-/ready answers. Errors carry its log.
  static absl::StatusOr<std::unique_ptr<RulesPrometheus>> Start(const Options& options);

  void Stop() { process_->Stop(); }
  int port() const { return process_->port(); }
  std::string LogTail() const { return process_->LogTail(); }

  // With Options::file_targets: scrape these /metrics ports from now on.
  absl::Status SetTargets(const std::vector<int>& ports) { return process_->SetTargets(ports); }

  // GET /api/v1/query?query=<promql>. INVALID_ARGUMENT (with Prometheus'
  // error) when the expression does not parse or evaluate (HTTP 400/422).
  absl::StatusOr<QueryResult> Query(absl::string_view promql);
  // GET /api/v1/rules: the "data" object ({"groups": [...]}).
  absl::StatusOr<google::protobuf::Struct> Rules();

 private:
  explicit RulesPrometheus(std::unique_ptr<PrometheusProcess> process)
      : process_(std::move(process)) {}

  std::unique_ptr<PrometheusProcess> process_;
};

// Polls `promql` until it has at least `min` samples whose value is a
// number; false at the deadline. Parse errors are returned at once.
absl::StatusOr<bool> EventuallyHasData(RulesPrometheus& prom, const std::string& promql,
                                       absl::Duration timeout, int min = 1);

// One rule as Prometheus loaded it.
struct LoadedRule {
  std::string group;
  std::string type;  // "recording" or "alerting"
  std::string name;
  std::string query;
  std::string health;  // "ok", "err", "unknown" (not evaluated yet)
  std::string last_error;
  bool cluster_only = false;  // labels: scope: cluster
  std::map<std::string, std::string> annotations;
};

// The rules of /api/v1/rules, every group's in order.
absl::StatusOr<std::vector<LoadedRule>> LoadedRules(RulesPrometheus& prom);
// LoadedRules once every rule has been evaluated (health not "unknown"),
// or as they are at the deadline.
absl::StatusOr<std::vector<LoadedRule>> EvaluatedRules(RulesPrometheus& prom,
                                                       absl::Duration timeout);

}  // namespace surge::testing

#endif  // SURGE_TESTS_OPS_RULES_PROMETHEUS_H_
