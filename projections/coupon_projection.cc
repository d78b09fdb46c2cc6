#include "projections/coupon_projection.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "projections/internal/big_endian.h"
#include "projections/read_models.h"
#include "surge/v1/surge.pb.h"

namespace surge::projections {
namespace {

std::string CampaignStream(absl::string_view code) { return absl::StrCat("campaign-", code); }

absl::StatusOr<std::vector<v1::Event>> Created(ProjectionState& state, const v1::Event& event) {
  const v1::CampaignCreated& created = event.campaign_created();
  if (created.code().empty() || created.total_quantity() < 0 || created.per_user_limit() < 0) {
    return absl::InvalidArgumentError("CampaignCreated needs a code and non-negative quantities");
  }
  SURGE_ASSIGN_OR_RETURN(std::optional<v1::Campaign> existing,
                         GetRow<v1::Campaign>(state, kCampaignsCf, created.code()));
  // The command side refuses a second campaign with the same code; the first wins.
  if (existing.has_value()) return std::vector<v1::Event>();
  v1::Campaign campaign;
  campaign.set_code(created.code());
  campaign.set_total_quantity(created.total_quantity());
  campaign.set_remaining(created.total_quantity());
  campaign.set_per_user_limit(created.per_user_limit() == 0 ? 1 : created.per_user_limit());
  campaign.set_updated_position(event.position());
  PutRow(state, kCampaignsCf, created.code(), campaign);
  return std::vector<v1::Event>();
}

absl::StatusOr<std::vector<v1::Event>> Requested(ProjectionState& state, const v1::Event& event) {
  const v1::CouponRequested& request = event.coupon_requested();
  if (request.request_id().empty() || request.user_id().empty() || request.code().empty()) {
    return absl::InvalidArgumentError("CouponRequested needs request_id, user_id and code");
  }
  SURGE_ASSIGN_OR_RETURN(std::optional<v1::CouponRequest> decided,
                         GetRow<v1::CouponRequest>(state, kCouponRequestsCf, request.request_id()));
  if (decided.has_value() && decided->status() != v1::COUPON_REQUEST_STATUS_PENDING &&
      decided->status() != v1::COUPON_REQUEST_STATUS_UNSPECIFIED) {
    return std::vector<v1::Event>();
  }

  v1::CouponRequest row;
  row.set_request_id(request.request_id());
  row.set_user_id(request.user_id());
  row.set_code(request.code());
  row.set_updated_position(event.position());

  SURGE_ASSIGN_OR_RETURN(std::optional<v1::Campaign> campaign,
                         GetRow<v1::Campaign>(state, kCampaignsCf, request.code()));
  const std::string holding_key = CouponHoldingKey(request.code(), request.user_id());
  uint64_t held = 0;
  v1::CouponRejectReason reject = v1::COUPON_REJECT_REASON_UNSPECIFIED;
  // The per-user limit is checked before the stock: both reasons are then
  // stable (holdings never shrink, a sold-out campaign stays sold out), so a
  // duplicate of a rejected request decided again is rejected again for the
  // same reason. That is what lets a cluster decider keep rejected requests
  // out of its state (PutReadModelRow below).
  if (!campaign.has_value()) {
    reject = v1::COUPON_REJECT_REASON_UNKNOWN_CAMPAIGN;
  } else {
    SURGE_ASSIGN_OR_RETURN(std::optional<std::string> held_bytes,
                           state.Get(kCouponHoldingsCf, holding_key));
    if (held_bytes.has_value()) {
      std::optional<uint64_t> decoded = internal::DecodeU64(*held_bytes);
      if (!decoded.has_value()) {
        return absl::DataLossError(
            absl::StrCat("unreadable coupon holding for ", request.user_id()));
      }
      held = *decoded;
    }
    if (held >= static_cast<uint64_t>(campaign->per_user_limit())) {
      reject = v1::COUPON_REJECT_REASON_LIMIT_REACHED;
    } else if (campaign->remaining() <= 0) {
      reject = v1::COUPON_REJECT_REASON_SOLD_OUT;
    }
  }

  std::vector<v1::Event> out;
  v1::Event& answer = out.emplace_back(EmittedBy(event, CampaignStream(request.code())));
  if (reject != v1::COUPON_REJECT_REASON_UNSPECIFIED) {
    v1::CouponRejected* r = answer.mutable_coupon_rejected();
    r->set_request_id(request.request_id());
    r->set_user_id(request.user_id());
    r->set_code(request.code());
    r->set_reason(reject);
    row.set_status(v1::COUPON_REQUEST_STATUS_REJECTED);
    row.set_reason(reject);
  } else {
    campaign->set_issued(campaign->issued() + 1);
    campaign->set_remaining(campaign->remaining() - 1);
    campaign->set_updated_position(event.position());
    PutRow(state, kCampaignsCf, request.code(), *campaign);
    state.Put(kCouponHoldingsCf, holding_key, internal::EncodeU64(held + 1));
    // The n-th coupon of a campaign: unique and the same on every replay.
    std::string coupon_id = absl::StrCat(request.code(), "-", campaign->issued());
    v1::CouponIssued* issued = answer.mutable_coupon_issued();
    issued->set_request_id(request.request_id());
    issued->set_user_id(request.user_id());
    issued->set_code(request.code());
    issued->set_coupon_id(coupon_id);
    issued->set_remaining(campaign->remaining());
    row.set_status(v1::COUPON_REQUEST_STATUS_ISSUED);
    row.set_coupon_id(std::move(coupon_id));
  }
  if (reject == v1::COUPON_REJECT_REASON_LIMIT_REACHED ||
      reject == v1::COUPON_REJECT_REASON_SOLD_OUT) {
    // Stable reasons (above): the decision never needs this row again.
    PutReadModelRow(state, kCouponRequestsCf, request.request_id(), row);
  } else {
    // Issued (a duplicate must not get a second coupon), or rejected for an
    // unknown campaign (a duplicate after the campaign exists must not be
    // issued one).
    PutRow(state, kCouponRequestsCf, request.request_id(), row);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<v1::Event>> CouponProjection::Handle(ProjectionState& state,
                                                                const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kCampaignCreated:
      return Created(state, event);
    case v1::Event::kCouponRequested:
      return Requested(state, event);
    default:
      return std::vector<v1::Event>();
  }
}

}  // namespace surge::projections
