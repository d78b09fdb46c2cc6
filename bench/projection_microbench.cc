// Microbenchmarks of projection apply: one message through a projection's
// pure handler over the overlay state, in batches of 100 committed to an
// in-memory store the way the applier commits them (no RocksDB, no Kafka).
// The flash-sale shape (after the first 1,000 issued, every request is a
// SOLD_OUT rejection) and the stock decrease of an order line.
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "projections/coupon_projection.h"
#include "projections/projection_state.h"
#include "projections/stock_projection.h"
#include "surge/v1/events.pb.h"

namespace surge::bench {
namespace {

constexpr int kBatch = 100;  // messages per overlay / commit, like one consumer batch

v1::Event Positioned(v1::Event e, uint64_t position) {
  e.set_position(position);
  e.set_event_id(absl::StrCat("node-1:", position));
  return e;
}

// Runs `handle(i)` for each iteration over one overlay per kBatch messages.
template <typename Handle>
void RunBatches(benchmark::State& state, projections::InMemoryStateStore& store, Handle handle) {
  uint64_t i = 0;
  while (state.KeepRunningBatch(kBatch)) {
    projections::OverlayState overlay(&store);
    for (int k = 0; k < kBatch; ++k) {
      auto out = handle(overlay, ++i);
      if (!out.ok()) state.SkipWithError(out.status().ToString().c_str());
      benchmark::DoNotOptimize(out);
    }
    store.Apply(overlay.TakeWrites());
  }
}

void BM_CouponRequestDecided(benchmark::State& state) {
  projections::InMemoryStateStore store;
  projections::CouponProjection coupons;
  v1::Event created;
  created.set_stream_id("campaign-SALE");
  created.mutable_campaign_created()->set_code("SALE");
  created.mutable_campaign_created()->set_total_quantity(1000);
  created.mutable_campaign_created()->set_per_user_limit(1);
  projections::OverlayState setup(&store);
  if (!coupons.Handle(setup, Positioned(created, 1)).ok()) state.SkipWithError("setup");
  store.Apply(setup.TakeWrites());
  RunBatches(state, store, [&](projections::OverlayState& overlay, uint64_t i) {
    v1::Event e;
    e.set_stream_id("campaign-SALE");
    e.mutable_coupon_requested()->set_request_id(absl::StrCat("r-", i));
    e.mutable_coupon_requested()->set_user_id(absl::StrCat("user-", i % 50000));
    e.mutable_coupon_requested()->set_code("SALE");
    return coupons.Handle(overlay, Positioned(std::move(e), i + 1));
  });
}
BENCHMARK(BM_CouponRequestDecided);

void BM_StockDecreaseApplied(benchmark::State& state) {
  projections::InMemoryStateStore store;
  projections::StockProjection stock;
  v1::Event restock;
  restock.set_stream_id("sku-1");
  restock.mutable_stock_adjusted()->set_sku("sku-1");
  restock.mutable_stock_adjusted()->set_delta(1'000'000'000);
  projections::OverlayState setup(&store);
  if (!stock.Handle(setup, Positioned(restock, 1)).ok()) state.SkipWithError("setup");
  store.Apply(setup.TakeWrites());
  RunBatches(state, store, [&](projections::OverlayState& overlay, uint64_t i) {
    v1::Event e;
    e.set_stream_id(absl::StrCat("order-", i));
    e.mutable_stock_decrease_requested()->set_order_id(absl::StrCat("order-", i));
    e.mutable_stock_decrease_requested()->set_sku("sku-1");
    e.mutable_stock_decrease_requested()->set_quantity(1);
    return stock.Handle(overlay, Positioned(std::move(e), i + 1));
  });
}
BENCHMARK(BM_StockDecreaseApplied);

}  // namespace
}  // namespace surge::bench

BENCHMARK_MAIN();
