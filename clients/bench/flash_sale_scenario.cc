// Flash sale: one campaign of Q coupons, requests from U users drawn at
// random. Warm-up calls go to a second campaign so they cannot eat coupons.
#include <algorithm>
#include <memory>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/bench/scenarios.h"

namespace surge::bench {
namespace {

class FlashSaleCheck : public LogCheck {
 public:
  FlashSaleCheck(BenchClient* client, std::string code, int64_t quantity,
                 absl::flat_hash_set<std::string> accepted)
      : client_(client), code_(std::move(code)), quantity_(quantity),
        accepted_(std::move(accepted)) {}

  void Observe(const v1::Event& e) override {
    if (e.has_coupon_requested() && e.coupon_requested().code() == code_) {
      requested_users_[e.coupon_requested().request_id()] = e.coupon_requested().user_id();
    } else if (e.has_coupon_issued() && e.coupon_issued().code() == code_) {
      ++issued_per_user_[e.coupon_issued().user_id()];
      ++issued_;
      decided_.insert(e.coupon_issued().request_id());
    } else if (e.has_coupon_rejected() && e.coupon_rejected().code() == code_) {
      ++rejected_;
      decided_.insert(e.coupon_rejected().request_id());
    }
  }

  absl::Status Finish(std::string* summary) override {
    absl::flat_hash_set<std::string> users;
    for (const auto& [request_id, user] : requested_users_) users.insert(user);
    const int64_t expected = std::min<int64_t>(quantity_, static_cast<int64_t>(users.size()));
    *summary = absl::StrCat("campaign ", code_, ": ", requested_users_.size(),
                            " requests from ", users.size(), " users, issued ", issued_,
                            " (expected ", expected, "), rejected ", rejected_);
    for (const auto& id : accepted_) {
      if (!requested_users_.contains(id)) {
        return absl::FailedPreconditionError(
            absl::StrCat("accepted request ", id, " has no CouponRequested in the log"));
      }
    }
    for (const auto& [user, n] : issued_per_user_) {
      if (n > 1) {
        return absl::FailedPreconditionError(
            absl::StrCat("user ", user, " was issued ", n, " coupons (limit 1)"));
      }
    }
    if (issued_ > quantity_) {
      return absl::FailedPreconditionError(
          absl::StrCat("issued ", issued_, " > quantity ", quantity_));
    }
    for (const auto& [request_id, user] : requested_users_) {
      if (!decided_.contains(request_id)) {
        return absl::FailedPreconditionError(
            absl::StrCat("request ", request_id, " is not decided"));
      }
    }
    if (issued_ != expected) {
      return absl::FailedPreconditionError(
          absl::StrCat("issued ", issued_, " != min(Q, distinct users) = ", expected));
    }
    grpc::ClientContext context;
    client_->Prepare(&context, /*admin=*/false);
    v1::GetCampaignRequest request;
    request.set_code(code_);
    v1::Campaign campaign;
    grpc::Status status = client_->coupons->GetCampaign(&context, request, &campaign);
    if (!status.ok()) {
      return absl::FailedPreconditionError("GetCampaign: " + status.error_message());
    }
    if (campaign.issued() != issued_ || campaign.remaining() != quantity_ - issued_) {
      return absl::FailedPreconditionError(
          absl::StrCat("GetCampaign says issued ", campaign.issued(), ", remaining ",
                       campaign.remaining(), "; the log says issued ", issued_));
    }
    return absl::OkStatus();
  }

 private:
  BenchClient* client_;
  std::string code_;
  int64_t quantity_;
  absl::flat_hash_set<std::string> accepted_;
  absl::flat_hash_map<std::string, std::string> requested_users_;  // request -> user
  absl::flat_hash_map<std::string, int> issued_per_user_;
  absl::flat_hash_set<std::string> decided_;
  int64_t issued_ = 0;
  int64_t rejected_ = 0;
};

class FlashSaleScenario : public Scenario {
 public:
  FlashSaleScenario(const ScenarioOptions& options, BenchClient* client,
                    SettleTracker* tracker)
      : options_(options), client_(client), tracker_(tracker),
        code_(options.run_id + "-sale"), warmup_code_(options.run_id + "-warm") {}

  absl::Status Setup() override {
    for (const std::string& code : {code_, warmup_code_}) {
      grpc::ClientContext context;
      client_->Prepare(&context, /*admin=*/true);
      v1::CreateCampaignRequest request;
      request.set_request_id(code + "-create");
      request.set_code(code);
      request.set_total_quantity(options_.coupons);
      request.set_per_user_limit(1);
      v1::CreateCampaignResponse response;
      grpc::Status status = client_->coupons->CreateCampaign(&context, request, &response);
      if (!status.ok()) {
        return absl::UnavailableError("CreateCampaign " + code + ": " + status.error_message());
      }
    }
    // Requests before the projection knows the campaign would be rejected
    // as UNKNOWN_CAMPAIGN: wait until it is visible.
    if (!options_.wait_ready) return absl::OkStatus();
    const absl::Time deadline = absl::Now() + options_.ready_timeout;
    for (const std::string& code : {code_, warmup_code_}) {
      while (true) {
        grpc::ClientContext context;
        client_->Prepare(&context, /*admin=*/false);
        v1::GetCampaignRequest request;
        request.set_code(code);
        v1::Campaign campaign;
        grpc::Status status = client_->coupons->GetCampaign(&context, request, &campaign);
        if (status.ok() && campaign.total_quantity() == options_.coupons) break;
        if (absl::Now() > deadline) {
          return absl::DeadlineExceededError("campaign " + code + " not visible: " +
                                             status.error_message());
        }
        absl::SleepFor(absl::Milliseconds(20));  // setup only, not measured
      }
    }
    return absl::OkStatus();
  }

  void Start(uint64_t index, bool measured, LoadDriver::Done done) override {
    struct Call {
      grpc::ClientContext context;
      v1::RequestCouponRequest request;
      v1::RequestCouponResponse response;
    };
    auto* call = new Call;
    client_->Prepare(&call->context, /*admin=*/false);
    const uint64_t user = Mix(options_.seed, index, 1) % static_cast<uint64_t>(options_.users);
    call->request.set_request_id(absl::StrCat(options_.run_id, "-c", index));
    call->request.set_user_id(absl::StrCat("u", user));
    call->request.set_code(measured ? code_ : warmup_code_);
    client_->coupons->async()->RequestCoupon(
        &call->context, &call->request, &call->response,
        [this, call, measured, done = std::move(done)](grpc::Status status) {
          std::unique_ptr<Call> owned(call);
          if (status.ok()) {
            if (tracker_ != nullptr) {
              tracker_->Accepted("c:" + call->request.request_id(), absl::Now(), measured);
            }
            if (measured) {
              absl::MutexLock lock(&mu_);
              accepted_.insert(call->request.request_id());
            }
          }
          done(status);
        });
  }

  std::unique_ptr<LogCheck> NewCheck() override {
    absl::MutexLock lock(&mu_);
    return std::make_unique<FlashSaleCheck>(client_, code_, options_.coupons, accepted_);
  }

 private:
  const ScenarioOptions options_;
  BenchClient* client_;
  SettleTracker* tracker_;
  const std::string code_;
  const std::string warmup_code_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> accepted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Scenario> MakeFlashSaleScenario(const ScenarioOptions& options,
                                                BenchClient* client, SettleTracker* tracker) {
  return std::make_unique<FlashSaleScenario>(options, client, tracker);
}

}  // namespace surge::bench
