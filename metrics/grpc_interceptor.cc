// A server interceptor that reports every gRPC call's method, status code and
// latency to Metrics. Works for sync and callback services alike.
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "common/grpc_code_name.h"
#include "metrics/metrics.h"

namespace surge::metrics {
namespace {

// Canonical names as Prometheus label values ("OK", "NOT_FOUND", ...); a
// code outside the canonical range counts as UNKNOWN (bounded labels).
const char* CodeName(grpc::StatusCode code) {
  const char* name = GrpcCodeNameOrNull(static_cast<int>(code));
  return name != nullptr ? name : "UNKNOWN";
}

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(Metrics* metrics, std::string method)
      : metrics_(metrics), method_(std::move(method)), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->RecordRpc(method_, CodeName(methods->GetSendStatus().error_code()),
                          absl::Now() - start_);
    }
    methods->Proceed();
  }

 private:
  Metrics* metrics_;
  std::string method_;
  absl::Time start_;
};

class MetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // "/surge.v1.OrderService/PlaceOrder" -> "surge.v1.OrderService/PlaceOrder"
    std::string method = info->method() ? info->method() : "unknown";
    if (!method.empty() && method.front() == '/') method.erase(0, 1);
    return new MetricsInterceptor(metrics_, std::move(method));
  }

 private:
  Metrics* metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::NewGrpcInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

}  // namespace surge::metrics
