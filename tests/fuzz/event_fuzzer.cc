// Fuzz target: event decoding, routing and the projections' handlers.
//
// Input: the bytes of a v1::ReadAllResponse, i.e. a page of log events (any
// bytes that do not decode are simply refused, as a consumer refuses them).
// Each event is routed like the relay routes it (RouteEvent, EventTypeName,
// PartitionFor) and, when routable, handled by the projection that consumes
// its topic, over one in-memory read-model state, in log order; what the
// handlers emit goes back into the log and is handled too, as in production.
//
// Oracles: a routed event has a known topic, a non-empty key and a partition
// in range; handlers answer only with their documented codes; what they emit
// is routable; stock never goes negative and a campaign never issues more
// than its quantity, whatever the sequence of (possibly forged) events.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/stubs/logging.h"
#include "kafka/topics.h"
#include "projections/coupon_projection.h"
#include "projections/order_saga_projection.h"
#include "projections/projection_state.h"
#include "projections/read_models.h"
#include "projections/stock_projection.h"
#include "surge/v1/surge.pb.h"
#include "tests/fuzz/fuzz_check.h"

namespace surge::fuzz {
namespace {

// Bounds the work per input: handlers may emit events that emit events.
constexpr int kMaxEventsPerInput = 2'000;

void CheckRoute(const v1::Event& event, const absl::StatusOr<kafka::Route>& route) {
  if (!route.ok()) {
    SURGE_FUZZ_CHECK(route.status().code() == absl::StatusCode::kInvalidArgument, "%s",
                     route.status().ToString().c_str());
    return;
  }
  bool known_topic = false;
  for (const std::string& topic : kafka::EventTopics()) known_topic |= topic == route->topic;
  SURGE_FUZZ_CHECK(known_topic, "unknown topic %s", route->topic.c_str());
  SURGE_FUZZ_CHECK(!route->key.empty(), "empty key");
  SURGE_FUZZ_CHECK(!kafka::EventTypeName(event).empty(), "routed event without a type name");
  for (int32_t partitions : {1, 4, 6, 7, 1000}) {
    const int32_t p = kafka::PartitionFor(route->key, partitions);
    SURGE_FUZZ_CHECK(p >= 0 && p < partitions, "partition %d of %d", p, partitions);
  }
}

void CheckHandlerStatus(const absl::Status& status) {
  const absl::StatusCode code = status.code();
  SURGE_FUZZ_CHECK(code == absl::StatusCode::kOk || code == absl::StatusCode::kInvalidArgument ||
                       code == absl::StatusCode::kFailedPrecondition ||
                       code == absl::StatusCode::kDataLoss,
                   "handler answered %s", status.ToString().c_str());
}

void CheckReadModels(const projections::InMemoryStateStore& store) {
  for (const auto& [sku, bytes] : store.Rows(projections::kStockCf)) {
    v1::Stock stock;
    SURGE_FUZZ_CHECK(stock.ParseFromString(bytes), "unreadable stock row %s", sku.c_str());
    SURGE_FUZZ_CHECK(stock.available() >= 0, "stock %s available %lld", sku.c_str(),
                     static_cast<long long>(stock.available()));
  }
  for (const auto& [code, bytes] : store.Rows(projections::kCampaignsCf)) {
    v1::Campaign campaign;
    SURGE_FUZZ_CHECK(campaign.ParseFromString(bytes), "unreadable campaign row %s", code.c_str());
    SURGE_FUZZ_CHECK(campaign.issued() >= 0 &&
                         (campaign.issued() == 0 || campaign.issued() <= campaign.total_quantity()),
                     "campaign %s issued %lld of %lld", code.c_str(),
                     static_cast<long long>(campaign.issued()),
                     static_cast<long long>(campaign.total_quantity()));
  }
}

}  // namespace
}  // namespace surge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge;        // NOLINT: entry point only
  using namespace surge::fuzz;  // NOLINT
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);  // proto3 logs each refused string
    return true;
  }();
  (void)quiet;

  v1::ReadAllResponse page;
  if (!page.ParseFromArray(data, static_cast<int>(size))) return 0;

  projections::StockProjection stock;
  projections::OrderSagaProjection saga;
  projections::CouponProjection coupons;
  projections::InMemoryStateStore store;

  std::deque<v1::Event> log(page.events().begin(), page.events().end());
  uint64_t position = 0;
  for (int handled = 0; !log.empty() && handled < kMaxEventsPerInput; ++handled) {
    v1::Event event = std::move(log.front());
    log.pop_front();
    event.set_position(++position);  // the store assigns positions

    // The wire round trip a consumer sees.
    v1::Event decoded;
    SURGE_FUZZ_CHECK(decoded.ParseFromString(event.SerializeAsString()), "re-decode failed");

    const absl::StatusOr<kafka::Route> route = kafka::RouteEvent(decoded);
    CheckRoute(decoded, route);
    if (!route.ok()) continue;  // the relay refuses it; no projection sees it

    projections::Projection* projection = nullptr;
    if (route->topic == kafka::kStockTopic) projection = &stock;
    if (route->topic == kafka::kOrdersTopic) projection = &saga;
    if (route->topic == kafka::kCouponsTopic) projection = &coupons;
    SURGE_FUZZ_CHECK(projection != nullptr, "no projection for %s", route->topic.c_str());

    projections::OverlayState state(&store);
    absl::StatusOr<std::vector<v1::Event>> emitted = projection->Handle(state, decoded);
    CheckHandlerStatus(emitted.status());
    if (!emitted.ok()) continue;  // dead-lettered; its writes are dropped
    store.Apply(state.TakeWrites());
    CheckReadModels(store);
    for (v1::Event& out : *emitted) {
      const absl::StatusOr<kafka::Route> out_route = kafka::RouteEvent(out);
      SURGE_FUZZ_CHECK(out_route.ok(), "%s emitted an unroutable event: %s",
                       projection->name().c_str(), out_route.status().ToString().c_str());
      log.push_back(std::move(out));
    }
  }
  return 0;
}
