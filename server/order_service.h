// surge.v1.OrderService on the gRPC callback API: converts protos to domain
// commands/queries and answers through the cores' callbacks, so no thread is
// held while an append waits for its fsync or a read waits for settlement.
//
// Thread-safe; stateless apart from the borrowed cores, which must outlive it.
#ifndef SURGE_SERVER_ORDER_SERVICE_H_
#define SURGE_SERVER_ORDER_SERVICE_H_

#include "domain/commands.h"
#include "domain/queries.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::server {

class OrderService final : public v1::OrderService::CallbackService {
 public:
  OrderService(domain::CommandHandler& commands, domain::QueryHandler& queries)
      : commands_(commands), queries_(queries) {}

  grpc::ServerUnaryReactor* PlaceOrder(grpc::CallbackServerContext* context,
                                       const v1::PlaceOrderRequest* request,
                                       v1::PlaceOrderResponse* response) override;
  grpc::ServerUnaryReactor* GetOrder(grpc::CallbackServerContext* context,
                                     const v1::GetOrderRequest* request,
                                     v1::Order* response) override;
  grpc::ServerUnaryReactor* CancelOrder(grpc::CallbackServerContext* context,
                                        const v1::CancelOrderRequest* request,
                                        v1::Order* response) override;

 private:
  domain::CommandHandler& commands_;
  domain::QueryHandler& queries_;
};

}  // namespace surge::server

#endif  // SURGE_SERVER_ORDER_SERVICE_H_
