// Helpers for the metrics tests that drive a child surge-server: calls with
// deadlines, stock and orders, settlement and the /metrics text.
#ifndef SURGE_TESTS_METRICS_LIVE_SERVER_UTIL_H_
#define SURGE_TESTS_METRICS_LIVE_SERVER_UTIL_H_

#include <grpcpp/client_context.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/metrics/http_get.h"
#include "tests/support/server_process.h"

namespace surge::testing {

// A client context with a deadline, so a hung server fails the test.
inline std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

inline absl::Status ToStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

inline absl::Status AddStock(ServerProcess& server, const std::string& sku, int64_t delta) {
  v1::AdjustStockRequest request;
  request.set_request_id(absl::StrCat("stock-", sku, "-", delta));
  request.set_sku(sku);
  request.set_delta(delta);
  v1::AdjustStockResponse response;
  return ToStatus(server.Inventory()->AdjustStock(Ctx().get(), request, &response));
}

// Places an order of `quantity` x `sku`; its order id.
inline absl::StatusOr<std::string> PlaceOrder(ServerProcess& server, const std::string& request_id,
                                              const std::string& sku, int64_t quantity) {
  v1::PlaceOrderRequest request;
  request.set_request_id(request_id);
  request.set_user_id("metrics-user");
  v1::OrderLine* line = request.add_lines();
  line->set_sku(sku);
  line->set_quantity(quantity);
  v1::PlaceOrderResponse response;
  absl::Status status = ToStatus(server.Orders()->PlaceOrder(Ctx().get(), request, &response));
  if (!status.ok()) return status;
  return response.order_id();
}

// The order once the saga settled it (bounded by the server's own wait).
inline absl::StatusOr<v1::Order> SettledOrder(ServerProcess& server, const std::string& order_id) {
  v1::GetOrderRequest request;
  request.set_order_id(order_id);
  request.set_wait_for_settlement_ms(15000);
  v1::Order order;
  absl::Status status =
      ToStatus(server.Orders()->GetOrder(Ctx(absl::Seconds(20)).get(), request, &order));
  if (!status.ok()) return status;
  if (order.status() == v1::ORDER_STATUS_PENDING) {
    return absl::DeadlineExceededError(absl::StrCat("order ", order_id, " still PENDING"));
  }
  return order;
}

// The server's /metrics text.
inline absl::StatusOr<std::string> ScrapeMetrics(ServerProcess& server) {
  if (server.metrics_port() == 0) return absl::FailedPreconditionError("no metrics port");
  absl::StatusOr<HttpResponse> response = HttpGet(server.metrics_port(), "/metrics");
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::InternalError(absl::StrCat("/metrics: HTTP ", response->status));
  }
  return response->body;
}

}  // namespace surge::testing

#endif  // SURGE_TESTS_METRICS_LIVE_SERVER_UTIL_H_
