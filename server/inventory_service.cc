#include "server/inventory_service.h"

#include <utility>

#include "server/status_mapping.h"

namespace surge::server {

grpc::ServerUnaryReactor* InventoryService::AdjustStock(grpc::CallbackServerContext* context,
                                                        const v1::AdjustStockRequest* request,
                                                        v1::AdjustStockResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status s = auth_.Check(*context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  commands_.AdjustStockAsync(
      domain::AdjustStockCommand{
          .request_id = request->request_id(), .sku = request->sku(), .delta = request->delta()},
      [reactor, response](absl::StatusOr<domain::WriteResult> result) {
        if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
        response->set_position(result->position);
        response->set_duplicate(result->duplicate);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* InventoryService::GetStock(grpc::CallbackServerContext* context,
                                                     const v1::GetStockRequest* request,
                                                     v1::Stock* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::Stock> stock = queries_.GetStock(request->sku());
  if (!stock.ok()) {
    reactor->Finish(ToGrpcStatus(stock.status()));
  } else {
    *response = *std::move(stock);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

}  // namespace surge::server
