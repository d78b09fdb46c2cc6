// A representative event for the baselines and microbenchmarks: what one
// RequestCoupon appends, with the envelope fields the store fills in.
#ifndef SURGE_BENCH_SAMPLE_EVENT_H_
#define SURGE_BENCH_SAMPLE_EVENT_H_

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "surge/v1/events.pb.h"

namespace surge::bench {

inline v1::Event SampleCouponEvent(uint64_t i) {
  v1::Event e;
  e.set_position(1'000'000 + i);
  e.set_stream_id("campaign-bench-1700000000000-sale");
  e.set_stream_version(static_cast<int64_t>(i));
  e.set_event_id(absl::StrCat("node-1:", 1'000'000 + i));
  e.set_request_id(absl::StrCat("bench-1700000000000-c", i));
  e.set_correlation_id(e.request_id());
  e.set_node_id("node-1");
  e.mutable_recorded_at()->set_seconds(1'700'000'000);
  e.mutable_recorded_at()->set_nanos(123'456'789);
  auto* p = e.mutable_coupon_requested();
  p->set_request_id(e.request_id());
  p->set_user_id(absl::StrCat("u", i % 50'000));
  p->set_code("bench-1700000000000-sale");
  return e;
}

}  // namespace surge::bench

#endif  // SURGE_BENCH_SAMPLE_EVENT_H_
