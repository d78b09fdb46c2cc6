// surge's Prometheus metrics: one registry, the HTTP endpoint that serves it
// (`/metrics`, text format), the instruments modules report into, and
// scrape-time callbacks for values other modules own (positions, lags,
// queue depths, read-model counts).
//
//   SURGE_ASSIGN_OR_RETURN(auto metrics, Metrics::Create({.listen_address = "127.0.0.1:9464"}));
//   metrics->RecordAppendBatch(batch_size, commit_latency);
//   metrics->RegisterCallback("surge_log_head_position", "...", Metrics::Kind::kGauge,
//                             [&] { return std::vector<Sample>{{{}, double(store.HeadPosition())}};
//                             });
//
// Values another module already counts (positions, per-projection batch
// sizes and retries, relay errors) are read through callbacks at scrape time
// rather than pushed, so those modules stay free of this one.
//
// Naming follows Prometheus conventions: `surge_` prefix, base units
// (`_seconds`), `_total` for counters. Labels are bounded: method and code,
// projection, topic, campaign code (campaigns are few). Never a label per
// user, order or request. The endpoint exposes no user data.
//
// Thread-safe: every method may be called from any thread. Callbacks run on
// the scraping thread and must not block for long.
#ifndef SURGE_METRICS_METRICS_H_
#define SURGE_METRICS_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace grpc::experimental {
class ServerInterceptorFactoryInterface;
}  // namespace grpc::experimental

namespace surge::metrics {

// One value of a scrape-time metric.
struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// One labelled histogram of a scrape-time histogram family, kept by its
// owner as plain counts (so modules need not link prometheus-cpp).
struct HistogramSample {
  std::map<std::string, std::string> labels;
  // Observations per bucket, NOT cumulative: bucket_counts[i] counts values
  // in (bounds[i-1], bounds[i]]; the last entry (index bounds.size()) counts
  // values above every bound. Missing entries count as 0.
  std::vector<uint64_t> bucket_counts;
  // Sum of every observed value.
  double sum = 0;
};

class Metrics {
 public:
  struct Options {
    // host:port of the HTTP endpoint. Port 0 picks a free port (see port()).
    // Empty: no endpoint (instruments still work; RenderText() shows them).
    std::string listen_address = "127.0.0.1:9464";
  };

  enum class Kind { kGauge, kCounter };

  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Metrics>> Create(const Options& options);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The bound HTTP port, 0 without an endpoint.
  int port() const;

  // gRPC: one request finished with `code` (e.g. "OK", "INVALID_ARGUMENT").
  void RecordRpc(absl::string_view method, absl::string_view code, absl::Duration latency);
  // Event store: one committed WriteBatch of `appends` appends.
  void RecordAppendBatch(size_t appends, absl::Duration commit_latency);
  // Registers a family whose samples are computed at each scrape. `name`
  // must be unique and follow the conventions (counters end in _total).
  void RegisterCallback(std::string name, std::string help, Kind kind,
                        std::function<std::vector<Sample>()> collect);
  // Registers a histogram family computed at each scrape from counts its
  // owner keeps. `bounds` are the buckets' upper bounds, ascending (the +Inf
  // bucket is implied).
  void RegisterHistogramCallback(std::string name, std::string help, std::vector<double> bounds,
                                 std::function<std::vector<HistogramSample>()> collect);

  // A gRPC server interceptor factory recording RecordRpc for every call.
  // The factory borrows this Metrics: it must outlive the gRPC server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewGrpcInterceptorFactory();

  // Everything as the endpoint would serve it (Prometheus text format).
  std::string RenderText() const;

 private:
  struct Impl;
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace surge::metrics

#endif  // SURGE_METRICS_METRICS_H_
