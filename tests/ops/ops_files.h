// Reads the operations files under ops/ for the tests: the Grafana dashboard
// (ops/grafana/surge.json) as JSON, its panels' query expressions and
// template variables, and the metric names a PromQL expression reads.
//
//   SURGE_ASSIGN_OR_RETURN(Dashboard dash, LoadDashboard(OpsPath("grafana/surge.json")));
//   for (const PanelTarget& t : dash.targets) { ... t.expr ... }
//
// The expressions are read from the files at test time, never copied into a
// test, so a renamed metric fails the tests until the files follow.
#ifndef SURGE_TESTS_OPS_OPS_FILES_H_
#define SURGE_TESTS_OPS_OPS_FILES_H_

#include <google/protobuf/struct.pb.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace surge::testing {

// Panels whose description starts with this read only cluster metrics
// (surge_cluster_*), which a single-node server does not export.
inline constexpr absl::string_view kClusterOnlyMarker = "[cluster-only]";

// <source tree>/ops/<relative>.
std::string OpsPath(absl::string_view relative);
// <source tree>/<relative>.
std::string SourcePath(absl::string_view relative);

absl::StatusOr<std::string> ReadTextFile(const std::string& path);
// Any JSON document (object at the top) as a protobuf Struct.
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(absl::string_view json);

// One query of one panel.
struct PanelTarget {
  int panel_id = 0;
  std::string panel_title;
  std::string ref_id;
  std::string expr;  // as written in the dashboard, with $variables
  bool cluster_only = false;
};

// One entry of templating.list.
struct DashboardVariable {
  std::string name;
  std::string type;       // "datasource", "query", ...
  std::string query;      // datasource: the plugin id; query: the PromQL/label_values text
  std::string all_value;  // what "All" stands for (query variables)
};

struct Dashboard {
  google::protobuf::Struct json;
  // Every panel, rows' nested panels included, in order.
  std::vector<const google::protobuf::Struct*> panels;
  std::vector<PanelTarget> targets;
  std::vector<DashboardVariable> variables;
};

absl::StatusOr<Dashboard> LoadDashboard(const std::string& path);

// `expr` as Grafana would send it with every query variable on "All" and a
// 1m rate interval: $var, ${var} and [[var]] replaced. Fails on a variable
// the dashboard does not define (and Grafana does not provide).
absl::StatusOr<std::string> ExpandVariables(absl::string_view expr, const Dashboard& dashboard);

// Grafana's label_values(<selector>, <label>) as an instant PromQL query
// that returns one sample per value; other variable queries unchanged.
std::string VariableQueryAsPromql(absl::string_view query);

// The metric names (and recording-rule names) an expression selects, e.g.
// {"surge_relay_lag_events"} for `surge_relay_lag_events{job="x"} > 1000`.
// A small tokenizer, not a parser: strings, label matchers, ranges and
// grouping clauses are skipped; function names and keywords are not metrics.
std::vector<std::string> MetricNames(absl::string_view promql);

// True for the names only a cluster exports: surge_cluster_* and the
// recording rules built on them (a `cluster` part in a level:metric:op name).
bool IsClusterMetric(absl::string_view name);

// The `- alert:` and `- record:` entries of a rule file's text, to compare
// with what Prometheus loaded.
int RulesInFile(absl::string_view text);

// True for expressions reading the allocator metrics, which only a jemalloc
// build exports.
bool IsJemallocOnly(absl::string_view expr);

}  // namespace surge::testing

#endif  // SURGE_TESTS_OPS_OPS_FILES_H_
