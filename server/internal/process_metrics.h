// The standard process_* families Prometheus client libraries export
// (prometheus-cpp has none): CPU seconds, resident and virtual memory,
// open file descriptors, start time and threads, read from /proc/self at
// scrape time.
#ifndef SURGE_SERVER_INTERNAL_PROCESS_METRICS_H_
#define SURGE_SERVER_INTERNAL_PROCESS_METRICS_H_

#include <optional>

#include "metrics/metrics.h"

namespace surge::server::internal {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  double threads = 0;
  double open_fds = 0;
};

// nullopt when /proc is unreadable.
std::optional<ProcessStats> ReadProcessStats();

void RegisterProcessMetrics(metrics::Metrics& metrics);

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_PROCESS_METRICS_H_
