// The workloads surge-bench can drive, behind one interface: what to set up,
// how to start one call, and what must hold in the log afterwards.
//
// Thread-safety: Start() is called concurrently from gRPC threads; Setup()
// and NewCheck() from the main thread only.
#ifndef SURGE_CLIENTS_BENCH_SCENARIO_H_
#define SURGE_CLIENTS_BENCH_SCENARIO_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/bench/load_driver.h"
#include "clients/bench/settle_tracker.h"
#include "grpcpp/grpcpp.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::bench {

// The stubs every scenario shares, and how to authorise admin calls.
struct BenchClient {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::OrderService::Stub> orders;
  std::unique_ptr<v1::InventoryService::Stub> inventory;
  std::unique_ptr<v1::CouponService::Stub> coupons;
  std::unique_ptr<v1::EventStoreService::Stub> events;
  std::string admin_token;  // empty = the server has none
  absl::Duration call_timeout = absl::Seconds(30);

  explicit BenchClient(std::shared_ptr<grpc::Channel> ch);
  // Sets the deadline, and the bearer token when `admin`.
  void Prepare(grpc::ClientContext* context, bool admin) const;
};

// Parameters of the scenarios (each reads the ones it needs).
struct ScenarioOptions {
  std::string run_id;           // prefix of every id this run creates
  uint64_t seed = 1;            // random choices are a function of seed and call index
  int64_t users = 50'000;       // distinct user ids drawn from
  int64_t coupons = 1'000;      // flash-sale campaign size Q
  int64_t skus = 100;           // SKUs ordered from
  int64_t initial_stock = 1'000'000;  // units per SKU, enough for the whole run
  absl::Duration ready_timeout = absl::Seconds(20);  // setup waits for projections
  // Whether setup waits until the projections show the setup (stock,
  // campaigns). Off only for accept-only runs (--settle=false).
  bool wait_ready = true;
};

// Inspects the log of one run, event by event, then says whether the
// scenario's invariants hold.
class LogCheck {
 public:
  virtual ~LogCheck() = default;
  virtual void Observe(const v1::Event& event) = 0;
  // OK, or FAILED_PRECONDITION naming the violated invariant (it may still be
  // settling: the caller retries until a deadline). `summary` gets figures.
  virtual absl::Status Finish(std::string* summary) = 0;
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  // Creates what the load needs (campaigns, stock) and waits until the
  // projections have applied it.
  virtual absl::Status Setup() = 0;
  // Starts call `index`; calls `done` exactly once. Accepted commands are
  // reported to `tracker` (when not null) with their settle key.
  virtual void Start(uint64_t index, bool measured, LoadDriver::Done done) = 0;
  // Whether accepted calls are commands whose decision comes later.
  virtual bool settles() const { return true; }
  virtual std::unique_ptr<LogCheck> NewCheck() = 0;
};

// scenario: "noop" | "orders" | "flash-sale" | "mixed".
absl::StatusOr<std::unique_ptr<Scenario>> MakeScenario(const std::string& name,
                                                       const ScenarioOptions& options,
                                                       BenchClient* client,
                                                       SettleTracker* tracker);

// A deterministic 64-bit mix of (seed, index, salt) for random choices.
uint64_t Mix(uint64_t seed, uint64_t index, uint64_t salt);

}  // namespace surge::bench

#endif  // SURGE_CLIENTS_BENCH_SCENARIO_H_
