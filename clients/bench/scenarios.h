// Factories of the individual scenarios (MakeScenario picks among them).
#ifndef SURGE_CLIENTS_BENCH_SCENARIOS_H_
#define SURGE_CLIENTS_BENCH_SCENARIOS_H_

#include <memory>

#include "clients/bench/scenario.h"

namespace surge::bench {

// grpc.health.v1.Health/Check: the gRPC ceiling on this machine.
std::unique_ptr<Scenario> MakeNoopScenario(BenchClient* client);
// PlaceOrder of 1-3 lines over pre-stocked SKUs; checks stock conservation.
std::unique_ptr<Scenario> MakeOrderScenario(const ScenarioOptions& options,
                                            BenchClient* client, SettleTracker* tracker);
// RequestCoupon on one campaign of `coupons`; checks issued == min(Q, users)
// and nobody twice.
std::unique_ptr<Scenario> MakeFlashSaleScenario(const ScenarioOptions& options,
                                                BenchClient* client, SettleTracker* tracker);
// Even calls are orders, odd calls coupon requests; checks both.
std::unique_ptr<Scenario> MakeMixedScenario(std::unique_ptr<Scenario> orders,
                                            std::unique_ptr<Scenario> coupons);

}  // namespace surge::bench

#endif  // SURGE_CLIENTS_BENCH_SCENARIOS_H_
