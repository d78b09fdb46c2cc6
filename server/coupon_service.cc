#include "server/coupon_service.h"

#include <utility>

#include "server/status_mapping.h"

namespace surge::server {
namespace {

// Answers a single-event command's result into a {position, duplicate} reply.
template <typename Response>
auto FinishWrite(grpc::ServerUnaryReactor* reactor, Response* response) {
  return [reactor, response](absl::StatusOr<domain::WriteResult> result) {
    if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
    response->set_position(result->position);
    response->set_duplicate(result->duplicate);
    reactor->Finish(grpc::Status::OK);
  };
}

}  // namespace

grpc::ServerUnaryReactor* CouponService::CreateCampaign(grpc::CallbackServerContext* context,
                                                        const v1::CreateCampaignRequest* request,
                                                        v1::CreateCampaignResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status s = auth_.Check(*context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  commands_.CreateCampaignAsync(
      domain::CreateCampaignCommand{.request_id = request->request_id(),
                                    .code = request->code(),
                                    .total_quantity = request->total_quantity(),
                                    .per_user_limit = request->per_user_limit()},
      FinishWrite(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* CouponService::RequestCoupon(grpc::CallbackServerContext* context,
                                                       const v1::RequestCouponRequest* request,
                                                       v1::RequestCouponResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  commands_.RequestCouponAsync(domain::RequestCouponCommand{.request_id = request->request_id(),
                                                            .user_id = request->user_id(),
                                                            .code = request->code()},
                               FinishWrite(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* CouponService::GetCampaign(grpc::CallbackServerContext* context,
                                                     const v1::GetCampaignRequest* request,
                                                     v1::Campaign* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::Campaign> campaign = queries_.GetCampaign(request->code());
  if (!campaign.ok()) {
    reactor->Finish(ToGrpcStatus(campaign.status()));
  } else {
    *response = *std::move(campaign);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerUnaryReactor* CouponService::GetCouponRequest(
    grpc::CallbackServerContext* context, const v1::GetCouponRequestRequest* request,
    v1::CouponRequest* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // A peer's read is answered from this node's read model only.
  internal::PeerReads* peers =
      context->client_metadata().count(internal::kPeerReadHeader) > 0 ? nullptr : peers_;
  auto finish = [reactor, response](absl::StatusOr<v1::CouponRequest> r) {
    if (!r.ok()) return reactor->Finish(ToGrpcStatus(r.status()));
    *response = *std::move(r);
    reactor->Finish(grpc::Status::OK);
  };
  queries_.GetCouponRequestAsync(
      request->request_id(), request->wait_for_settlement_ms(),
      [peers, finish, request_id = request->request_id()](absl::StatusOr<v1::CouponRequest> r) {
        if (peers != nullptr && absl::IsNotFound(r.status())) {
          return peers->GetCouponRequestAsync(request_id, finish);
        }
        finish(std::move(r));
      });
  return reactor;
}

}  // namespace surge::server
