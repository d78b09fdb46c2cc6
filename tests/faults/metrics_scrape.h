// Reads one gauge from a Prometheus text endpoint on loopback (plain HTTP
// GET /metrics), e.g. surge-server's surge_relay_lag_events.
#ifndef SURGE_TESTS_FAULTS_METRICS_SCRAPE_H_
#define SURGE_TESTS_FAULTS_METRICS_SCRAPE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace surge::faults {

// The whole /metrics body served at 127.0.0.1:`port`. UNAVAILABLE when the
// connection fails.
absl::StatusOr<std::string> ScrapeMetrics(int port);

// The value of the first sample of `name` with no labels in `body`.
// NOT_FOUND when absent.
absl::StatusOr<double> UnlabelledSample(absl::string_view body, absl::string_view name);

}  // namespace surge::faults

#endif  // SURGE_TESTS_FAULTS_METRICS_SCRAPE_H_
