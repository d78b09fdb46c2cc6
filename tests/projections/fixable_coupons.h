// The coupon projection with a bug for chosen request ids until a fix is
// deployed: its handler fails (UNAVAILABLE, deterministically) for the
// requests given to Break() until Fix(). Used by the dead-letter and replay
// tests of the single-node runner and of the cluster's deciders.
//
// Thread-safety: thread-safe (runners and deciders call it from their own
// threads while the test breaks and fixes it).
#ifndef SURGE_TESTS_PROJECTIONS_FIXABLE_COUPONS_H_
#define SURGE_TESTS_PROJECTIONS_FIXABLE_COUPONS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "projections/coupon_projection.h"
#include "projections/projection.h"
#include "surge/v1/events.pb.h"

namespace surge::projections::testing {

class FixableCoupons : public Projection {
 public:
  std::string name() const override { return "coupons"; }
  absl::StatusOr<std::vector<v1::Event>> Handle(ProjectionState& state,
                                                const v1::Event& event) override {
    {
      absl::MutexLock lock(&mu_);
      if (broken_.count(event.coupon_requested().request_id()) != 0) {
        return absl::UnavailableError("simulated bug for " + event.coupon_requested().request_id());
      }
    }
    return real_.Handle(state, event);
  }
  void Break(const std::string& request_id) {
    absl::MutexLock lock(&mu_);
    broken_.insert(request_id);
  }
  void Fix() {
    absl::MutexLock lock(&mu_);
    broken_.clear();
  }

 private:
  CouponProjection real_;
  absl::Mutex mu_;
  std::set<std::string> broken_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::projections::testing

#endif  // SURGE_TESTS_PROJECTIONS_FIXABLE_COUPONS_H_
