#include "clients/bench/scenario.h"

#include <utility>

#include "clients/bench/scenarios.h"

namespace surge::bench {

BenchClient::BenchClient(std::shared_ptr<grpc::Channel> ch)
    : channel(std::move(ch)),
      orders(v1::OrderService::NewStub(channel)),
      inventory(v1::InventoryService::NewStub(channel)),
      coupons(v1::CouponService::NewStub(channel)),
      events(v1::EventStoreService::NewStub(channel)) {}

void BenchClient::Prepare(grpc::ClientContext* context, bool admin) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + call_timeout));
  if (admin && !admin_token.empty()) {
    context->AddMetadata("authorization", "Bearer " + admin_token);
  }
}

uint64_t Mix(uint64_t seed, uint64_t index, uint64_t salt) {
  // splitmix64 finaliser over a combination of the inputs.
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull + salt;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

absl::StatusOr<std::unique_ptr<Scenario>> MakeScenario(const std::string& name,
                                                       const ScenarioOptions& options,
                                                       BenchClient* client,
                                                       SettleTracker* tracker) {
  if (name == "noop") return MakeNoopScenario(client);
  if (name == "orders") return MakeOrderScenario(options, client, tracker);
  if (name == "flash-sale") return MakeFlashSaleScenario(options, client, tracker);
  if (name == "mixed") {
    return MakeMixedScenario(MakeOrderScenario(options, client, tracker),
                             MakeFlashSaleScenario(options, client, tracker));
  }
  return absl::InvalidArgumentError("unknown scenario '" + name +
                                    "' (noop, orders, flash-sale, mixed)");
}

}  // namespace surge::bench
