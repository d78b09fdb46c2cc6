// The coupon projection (topic surge.coupons, key = campaign code): keeps
// v1::Campaign and v1::CouponRequest rows and decides every CouponRequested.
//
// A request is issued while the campaign has coupons left and the user holds
// fewer than its per-user limit (CouponIssued, coupon id "<code>-<n>");
// otherwise CouponRejected{SOLD_OUT | LIMIT_REACHED | UNKNOWN_CAMPAIGN}.
// A request already decided is a no-op, so issued <= total_quantity and
// holdings <= per_user_limit whatever is redelivered. Its own CouponIssued /
// CouponRejected coming back through the topic are ignored.
// Stateless object: thread-safe.
#ifndef SURGE_PROJECTIONS_COUPON_PROJECTION_H_
#define SURGE_PROJECTIONS_COUPON_PROJECTION_H_

#include <string>
#include <vector>

#include "projections/projection.h"

namespace surge::projections {

class CouponProjection : public Projection {
 public:
  std::string name() const override { return "coupons"; }
  absl::StatusOr<std::vector<v1::Event>> Handle(ProjectionState& state,
                                                const v1::Event& event) override;
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_COUPON_PROJECTION_H_
