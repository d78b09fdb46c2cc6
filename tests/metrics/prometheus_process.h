// Runs Debian's `prometheus` server as a child process for a test: on
// 127.0.0.1 with a free port, its TSDB and config in a private temp dir,
// scraping one target (or the targets SetTargets lists) and evaluating its
// rule files (if any) every second. Stopped by PID (SIGTERM, then SIGKILL)
// by Stop() or the destructor.
//
//   SURGE_ASSIGN_OR_RETURN(auto prom, PrometheusProcess::Start({.target_port = metrics_port}));
//   SURGE_ASSIGN_OR_RETURN(std::optional<double> v, prom->QueryScalar("up"));
//
// Targets that start after Prometheus (a cluster's nodes, one by one):
//   SURGE_ASSIGN_OR_RETURN(auto prom, PrometheusProcess::Start({.file_targets = true}));
//   SURGE_RETURN_IF_ERROR(prom->SetTargets({n1_port, n2_port}));
//
// Not thread-safe: one test thread drives it.
#ifndef SURGE_TESTS_METRICS_PROMETHEUS_PROCESS_H_
#define SURGE_TESTS_METRICS_PROMETHEUS_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {

class PrometheusProcess {
 public:
  struct Options {
    // The /metrics port on 127.0.0.1 to scrape. Required unless file_targets.
    int target_port = 0;
    // Scrape the ports the last SetTargets() listed instead (none until
    // then), through Prometheus' file service discovery.
    bool file_targets = false;
    // The scrape job's name.
    std::string job = "surge";
    // Rule files to load (absolute paths); a file Prometheus refuses makes
    // Start fail with its log.
    std::vector<std::string> rule_files;
    // Bound on start-up (until /-/ready answers 200).
    absl::Duration start_timeout = absl::Seconds(30);
  };

  // True when the `prometheus` binary is on PATH.
  static bool Installed();
  // Starts the server and waits until it is ready. Errors carry its log.
  static absl::StatusOr<std::unique_ptr<PrometheusProcess>> Start(const Options& options);

  ~PrometheusProcess();
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  // SIGTERM and wait (bounded), SIGKILL if it does not exit. Idempotent.
  void Stop();

  int port() const { return port_; }
  // The last 30 lines of its log.
  std::string LogTail() const;

  // With file_targets: scrape these /metrics ports on 127.0.0.1 from now
  // on (the file is replaced atomically; Prometheus notices the change at
  // once through inotify, at the latest after its 1 s refresh interval).
  absl::Status SetTargets(const std::vector<int>& ports);

  // GET /api/v1/targets: the raw JSON body.
  absl::StatusOr<std::string> Targets();
  // GET /api/v1/query?query=<promql>: the value of the first sample of an
  // instant vector, nullopt when the result is empty.
  absl::StatusOr<std::optional<double>> QueryScalar(absl::string_view promql);

 private:
  explicit PrometheusProcess(std::unique_ptr<TempDir> dir) : dir_(std::move(dir)) {}
  absl::Status Spawn(const Options& options);
  absl::Status WaitUntilReady(absl::Duration timeout);

  std::unique_ptr<TempDir> dir_;
  bool file_targets_ = false;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_METRICS_PROMETHEUS_PROCESS_H_
