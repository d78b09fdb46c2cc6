// surge.v1.InventoryService on the gRPC callback API. AdjustStock is an
// admin RPC (see AdminAuth).
//
// Thread-safe; stateless apart from the borrowed cores, which must outlive it.
#ifndef SURGE_SERVER_INVENTORY_SERVICE_H_
#define SURGE_SERVER_INVENTORY_SERVICE_H_

#include "domain/commands.h"
#include "domain/queries.h"
#include "server/admin_auth.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::server {

class InventoryService final : public v1::InventoryService::CallbackService {
 public:
  InventoryService(domain::CommandHandler& commands, domain::QueryHandler& queries,
                   const AdminAuth& auth)
      : commands_(commands), queries_(queries), auth_(auth) {}

  grpc::ServerUnaryReactor* AdjustStock(grpc::CallbackServerContext* context,
                                        const v1::AdjustStockRequest* request,
                                        v1::AdjustStockResponse* response) override;
  grpc::ServerUnaryReactor* GetStock(grpc::CallbackServerContext* context,
                                     const v1::GetStockRequest* request,
                                     v1::Stock* response) override;

 private:
  domain::CommandHandler& commands_;
  domain::QueryHandler& queries_;
  const AdminAuth& auth_;
};

}  // namespace surge::server

#endif  // SURGE_SERVER_INVENTORY_SERVICE_H_
