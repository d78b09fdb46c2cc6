#include "server/order_service.h"

#include <utility>

#include "domain/validation.h"
#include "server/status_mapping.h"

namespace surge::server {

grpc::ServerUnaryReactor* OrderService::PlaceOrder(grpc::CallbackServerContext* context,
                                                   const v1::PlaceOrderRequest* request,
                                                   v1::PlaceOrderResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  domain::PlaceOrderCommand command{.request_id = request->request_id(),
                                    .user_id = request->user_id(),
                                    .lines = {request->lines().begin(), request->lines().end()}};
  commands_.PlaceOrderAsync(std::move(command),
                            [reactor, response](absl::StatusOr<domain::PlaceOrderResult> result) {
                              if (!result.ok())
                                return reactor->Finish(ToGrpcStatus(result.status()));
                              response->set_order_id(result->order_id);
                              response->set_status(v1::ORDER_STATUS_PENDING);
                              response->set_position(result->position);
                              response->set_duplicate(result->duplicate);
                              reactor->Finish(grpc::Status::OK);
                            });
  return reactor;
}

grpc::ServerUnaryReactor* OrderService::GetOrder(grpc::CallbackServerContext* context,
                                                 const v1::GetOrderRequest* request,
                                                 v1::Order* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  queries_.GetOrderAsync(request->order_id(), request->wait_for_settlement_ms(),
                         [reactor, response](absl::StatusOr<v1::Order> order) {
                           if (!order.ok()) return reactor->Finish(ToGrpcStatus(order.status()));
                           *response = *std::move(order);
                           reactor->Finish(grpc::Status::OK);
                         });
  return reactor;
}

grpc::ServerUnaryReactor* OrderService::CancelOrder(grpc::CallbackServerContext* context,
                                                    const v1::CancelOrderRequest* request,
                                                    v1::Order* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Checked before the command so a bad wait writes nothing.
  if (absl::Status s = domain::ValidateWaitForSettlementMs("wait_for_settlement_ms",
                                                           request->wait_for_settlement_ms());
      !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  const int64_t wait_ms = request->wait_for_settlement_ms();
  commands_.CancelOrderAsync(
      domain::CancelOrderCommand{.request_id = request->request_id(),
                                 .order_id = request->order_id()},
      [this, reactor, response, wait_ms](absl::StatusOr<domain::CancelOrderResult> result) {
        if (!result.ok()) return reactor->Finish(ToGrpcStatus(result.status()));
        // Answer with the order as the read side sees it now, or once the
        // saga cancelled it when the caller asked to wait.
        queries_.GetOrderUntilCancelledAsync(
            result->order_id, wait_ms, [reactor, response](absl::StatusOr<v1::Order> order) {
              if (!order.ok()) {
                return reactor->Finish(ToGrpcStatus(order.status()));
              }
              *response = *std::move(order);
              reactor->Finish(grpc::Status::OK);
            });
      });
  return reactor;
}

}  // namespace surge::server
