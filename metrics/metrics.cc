#include "metrics/metrics.h"

#include <exception>
#include <limits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace surge::metrics {
namespace {

// Latency buckets from 50 µs to 10 s: the interesting range of a durable
// append (a few hundred µs fsync) up to a badly stalled call.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

// Powers of two up to the largest sensible batch.
prometheus::Histogram::BucketBoundaries SizeBuckets() {
  prometheus::Histogram::BucketBoundaries b;
  for (double v = 1; v <= 8192; v *= 2) b.push_back(v);
  return b;
}

// Serves the scrape-time callbacks as metric families, in registration order.
class CallbackCollectable : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, Metrics::Kind kind,
           std::function<std::vector<Sample>()> collect) {
    absl::MutexLock lock(&mu_);
    Entry& e = entries_.emplace_back();
    e.name = std::move(name);
    e.help = std::move(help);
    e.kind = kind;
    e.collect = std::move(collect);
  }

  void AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                    std::function<std::vector<HistogramSample>()> collect) {
    absl::MutexLock lock(&mu_);
    Entry& e = entries_.emplace_back();
    e.name = std::move(name);
    e.help = std::move(help);
    e.bounds = std::move(bounds);
    e.collect_histogram = std::move(collect);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    absl::MutexLock lock(&mu_);
    std::vector<prometheus::MetricFamily> out;
    out.reserve(entries_.size());
    for (const Entry& e : entries_) {
      prometheus::MetricFamily family;
      family.name = e.name;
      family.help = e.help;
      if (e.collect_histogram) {
        family.type = prometheus::MetricType::Histogram;
        for (const HistogramSample& s : e.collect_histogram()) {
          family.metric.push_back(ToClientMetric(s, e.bounds));
        }
        out.push_back(std::move(family));
        continue;
      }
      family.type = e.kind == Metrics::Kind::kCounter ? prometheus::MetricType::Counter
                                                      : prometheus::MetricType::Gauge;
      for (const Sample& s : e.collect()) {
        prometheus::ClientMetric m;
        for (const auto& [k, v] : s.labels) m.label.push_back({k, v});
        if (e.kind == Metrics::Kind::kCounter) {
          m.counter.value = s.value;
        } else {
          m.gauge.value = s.value;
        }
        family.metric.push_back(std::move(m));
      }
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Entry {
    std::string name;
    std::string help;
    Metrics::Kind kind = Metrics::Kind::kGauge;
    std::function<std::vector<Sample>()> collect;
    // Set for histogram families (then `collect` is unused).
    std::vector<double> bounds;
    std::function<std::vector<HistogramSample>()> collect_histogram;
  };

  // Per-bucket counts -> the cumulative buckets of the exposition format,
  // ending with +Inf (whose count is the sample count).
  static prometheus::ClientMetric ToClientMetric(const HistogramSample& s,
                                                 const std::vector<double>& bounds) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : s.labels) m.label.push_back({k, v});
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      if (i < s.bucket_counts.size()) cumulative += s.bucket_counts[i];
      prometheus::ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound = i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back(bucket);
    }
    // Counts beyond the declared buckets still belong to +Inf.
    for (size_t i = bounds.size() + 1; i < s.bucket_counts.size(); ++i) {
      cumulative += s.bucket_counts[i];
      m.histogram.bucket.back().cumulative_count = cumulative;
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = s.sum;
    return m;
  }

  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<CallbackCollectable> callbacks = std::make_shared<CallbackCollectable>();
  std::unique_ptr<prometheus::Exposer> exposer;

  prometheus::Family<prometheus::Counter>& rpc_total =
      prometheus::BuildCounter()
          .Name("surge_grpc_server_handled_total")
          .Help("gRPC requests completed, by method and status code.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& rpc_seconds =
      prometheus::BuildHistogram()
          .Name("surge_grpc_server_handling_seconds")
          .Help("gRPC request latency from receipt to status, by method and status code.")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& batch_size =
      prometheus::BuildHistogram()
          .Name("surge_eventstore_append_batch_size")
          .Help("Appends committed per RocksDB WriteBatch (group commit).")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& commit_seconds =
      prometheus::BuildHistogram()
          .Name("surge_eventstore_commit_seconds")
          .Help("Time to write and sync one WriteBatch.")
          .Register(*registry);
  prometheus::Histogram& batch_size_h = batch_size.Add({}, SizeBuckets());
  prometheus::Histogram& commit_seconds_h = commit_seconds.Add({}, LatencyBuckets());

  // A client can send any method path; label values stay bounded by keeping
  // the first kMaxMethods names and folding the rest into "other".
  static constexpr size_t kMaxMethods = 64;
  absl::Mutex methods_mu;
  absl::flat_hash_set<std::string> methods ABSL_GUARDED_BY(methods_mu);

  std::string BoundedMethod(absl::string_view method) {
    absl::MutexLock lock(&methods_mu);
    if (methods.contains(method)) return std::string(method);
    if (methods.size() >= kMaxMethods) return "other";
    methods.insert(std::string(method));
    return std::string(method);
  }
};

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::~Metrics() = default;

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(const Options& options) {
  auto impl = std::make_unique<Impl>();
  if (!options.listen_address.empty()) {
    try {
      // civetweb takes "host:port"; one worker thread is plenty for scrapes.
      impl->exposer = std::make_unique<prometheus::Exposer>(options.listen_address, 1);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", options.listen_address, ": ", e.what()));
    }
    impl->exposer->RegisterCollectable(impl->registry);
    impl->exposer->RegisterCollectable(impl->callbacks);
  }
  return std::unique_ptr<Metrics>(new Metrics(std::move(impl)));
}

int Metrics::port() const {
  if (!impl_->exposer) return 0;
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::RecordRpc(absl::string_view method, absl::string_view code, absl::Duration latency) {
  prometheus::Labels labels{{"method", impl_->BoundedMethod(method)}, {"code", std::string(code)}};
  impl_->rpc_total.Add(labels).Increment();
  impl_->rpc_seconds.Add(labels, LatencyBuckets()).Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::RecordAppendBatch(size_t appends, absl::Duration commit_latency) {
  impl_->batch_size_h.Observe(static_cast<double>(appends));
  impl_->commit_seconds_h.Observe(absl::ToDoubleSeconds(commit_latency));
}

void Metrics::RegisterCallback(std::string name, std::string help, Kind kind,
                               std::function<std::vector<Sample>()> collect) {
  impl_->callbacks->Add(std::move(name), std::move(help), kind, std::move(collect));
}

void Metrics::RegisterHistogramCallback(std::string name, std::string help,
                                        std::vector<double> bounds,
                                        std::function<std::vector<HistogramSample>()> collect) {
  impl_->callbacks->AddHistogram(std::move(name), std::move(help), std::move(bounds),
                                 std::move(collect));
}

std::string Metrics::RenderText() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  for (auto& f : impl_->callbacks->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace surge::metrics
