// Mixed: even calls place orders, odd calls request coupons, against the
// same server at once; both invariants are checked.
#include <memory>
#include <string>

#include "clients/bench/scenarios.h"

namespace surge::bench {
namespace {

class MixedScenario : public Scenario {
 public:
  MixedScenario(std::unique_ptr<Scenario> orders, std::unique_ptr<Scenario> coupons)
      : orders_(std::move(orders)), coupons_(std::move(coupons)) {}

  absl::Status Setup() override {
    if (absl::Status s = orders_->Setup(); !s.ok()) return s;
    return coupons_->Setup();
  }
  void Start(uint64_t index, bool measured, LoadDriver::Done done) override {
    (index % 2 == 0 ? orders_ : coupons_)->Start(index, measured, std::move(done));
  }
  std::unique_ptr<LogCheck> NewCheck() override {
    class Both : public LogCheck {
     public:
      Both(std::unique_ptr<LogCheck> a, std::unique_ptr<LogCheck> b)
          : a_(std::move(a)), b_(std::move(b)) {}
      void Observe(const v1::Event& e) override {
        a_->Observe(e);
        b_->Observe(e);
      }
      absl::Status Finish(std::string* summary) override {
        std::string sa, sb;
        absl::Status s = a_->Finish(&sa);
        absl::Status t = b_->Finish(&sb);
        *summary = sa + "; " + sb;
        return s.ok() ? t : s;
      }

     private:
      std::unique_ptr<LogCheck> a_, b_;
    };
    return std::make_unique<Both>(orders_->NewCheck(), coupons_->NewCheck());
  }

 private:
  std::unique_ptr<Scenario> orders_, coupons_;
};

}  // namespace

std::unique_ptr<Scenario> MakeMixedScenario(std::unique_ptr<Scenario> orders,
                                            std::unique_ptr<Scenario> coupons) {
  return std::make_unique<MixedScenario>(std::move(orders), std::move(coupons));
}

}  // namespace surge::bench
