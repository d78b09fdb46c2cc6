// The gRPC ceiling: grpc.health.v1.Health/Check through a generic stub (an
// empty HealthCheckRequest is zero bytes), so the figure is gRPC's own cost
// with the same client, channel and concurrency as the real scenarios.
#include <memory>

#include "clients/bench/scenarios.h"
#include "grpcpp/generic/generic_stub.h"

namespace surge::bench {
namespace {

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";

class NoopScenario : public Scenario {
 public:
  explicit NoopScenario(BenchClient* client) : client_(client), stub_(client->channel) {}

  absl::Status Setup() override { return absl::OkStatus(); }

  void Start(uint64_t, bool, LoadDriver::Done done) override {
    struct Call {
      grpc::ClientContext context;
      grpc::ByteBuffer request;
      grpc::ByteBuffer response;
    };
    auto* call = new Call;
    // A default ByteBuffer has no payload at all, which gRPC refuses to send;
    // one empty slice is the zero-byte HealthCheckRequest.
    grpc::Slice empty("", 0);
    call->request = grpc::ByteBuffer(&empty, 1);
    client_->Prepare(&call->context, /*admin=*/false);
    stub_.UnaryCall(&call->context, kHealthCheck, grpc::StubOptions(), &call->request,
                    &call->response, [call, done = std::move(done)](grpc::Status status) {
                      std::unique_ptr<Call> owned(call);
                      done(status);
                    });
  }

  bool settles() const override { return false; }

  std::unique_ptr<LogCheck> NewCheck() override {
    class Nothing : public LogCheck {
     public:
      void Observe(const v1::Event&) override {}
      absl::Status Finish(std::string* summary) override {
        *summary = "no invariant (health check)";
        return absl::OkStatus();
      }
    };
    return std::make_unique<Nothing>();
  }

 private:
  BenchClient* client_;
  grpc::GenericStub stub_;
};

}  // namespace

std::unique_ptr<Scenario> MakeNoopScenario(BenchClient* client) {
  return std::make_unique<NoopScenario>(client);
}

}  // namespace surge::bench
