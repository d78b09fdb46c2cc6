// surge.v1.CouponService on the gRPC callback API. CreateCampaign is an
// admin RPC (see AdminAuth). In cluster mode a GetCouponRequest that finds
// nothing here asks the other nodes (`peers`, optional; see
// internal/peer_reads.h), unless it came from one of them.
//
// Thread-safe; stateless apart from the borrowed cores, which must outlive it.
#ifndef SURGE_SERVER_COUPON_SERVICE_H_
#define SURGE_SERVER_COUPON_SERVICE_H_

#include "domain/commands.h"
#include "domain/queries.h"
#include "server/admin_auth.h"
#include "server/internal/peer_reads.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::server {

class CouponService final : public v1::CouponService::CallbackService {
 public:
  CouponService(domain::CommandHandler& commands, domain::QueryHandler& queries,
                const AdminAuth& auth, internal::PeerReads* peers = nullptr)
      : commands_(commands), queries_(queries), auth_(auth), peers_(peers) {}

  grpc::ServerUnaryReactor* CreateCampaign(grpc::CallbackServerContext* context,
                                           const v1::CreateCampaignRequest* request,
                                           v1::CreateCampaignResponse* response) override;
  grpc::ServerUnaryReactor* RequestCoupon(grpc::CallbackServerContext* context,
                                          const v1::RequestCouponRequest* request,
                                          v1::RequestCouponResponse* response) override;
  grpc::ServerUnaryReactor* GetCampaign(grpc::CallbackServerContext* context,
                                        const v1::GetCampaignRequest* request,
                                        v1::Campaign* response) override;
  grpc::ServerUnaryReactor* GetCouponRequest(grpc::CallbackServerContext* context,
                                             const v1::GetCouponRequestRequest* request,
                                             v1::CouponRequest* response) override;

 private:
  domain::CommandHandler& commands_;
  domain::QueryHandler& queries_;
  const AdminAuth& auth_;
  internal::PeerReads* const peers_;  // null: single node, or peer reads off
};

}  // namespace surge::server

#endif  // SURGE_SERVER_COUPON_SERVICE_H_
