// Debian's `prometheus` as a child process that scrapes one target AND loads
// rule files (tests/metrics/prometheus_process.h scrapes only; its config
// has no rule_files). On 127.0.0.1 with a free port, scraping and evaluating
// rules every second, its TSDB and config in a private temp dir; stopped by
// PID (SIGTERM, then SIGKILL) by Stop() or the destructor.
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
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/temp_dir.h"

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
  struct Options {
    int target_port = 0;                  // the /metrics port on 127.0.0.1; required
    std::string job = "surge";            // the scrape job's name
    std::vector<std::string> rule_files;  // absolute paths
    absl::Duration start_timeout = absl::Seconds(30);
  };

  static bool Installed();
  // Starts it and waits until /-/ready answers. Errors carry its log.
  static absl::StatusOr<std::unique_ptr<RulesPrometheus>> Start(const Options& options);

  ~RulesPrometheus();
  RulesPrometheus(const RulesPrometheus&) = delete;
  RulesPrometheus& operator=(const RulesPrometheus&) = delete;

  void Stop();
  int port() const { return port_; }
  std::string LogTail() const;

  // GET /api/v1/query?query=<promql>. INVALID_ARGUMENT (with Prometheus'
  // error) when the expression does not parse or evaluate (HTTP 400/422).
  absl::StatusOr<QueryResult> Query(absl::string_view promql);
  // GET /api/v1/rules: the "data" object ({"groups": [...]}).
  absl::StatusOr<google::protobuf::Struct> Rules();

 private:
  explicit RulesPrometheus(std::unique_ptr<TempDir> dir) : dir_(std::move(dir)) {}
  absl::Status Spawn(const Options& options);
  absl::Status WaitUntilReady(absl::Duration timeout);

  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_OPS_RULES_PROMETHEUS_H_
