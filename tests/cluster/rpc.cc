#include "tests/cluster/rpc.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace surge::cluster_test::rpc {
namespace {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// The server bounds wait_for_settlement_ms at 30,000.
int64_t ClampWait(int64_t wait_ms) { return std::clamp<int64_t>(wait_ms, 0, 30000); }

absl::Duration WaitTimeout(int64_t wait_ms) {
  return absl::Milliseconds(ClampWait(wait_ms)) + kCallTimeout;
}

}  // namespace

absl::Status ToAbsl(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::Status AdjustStock(const Channel& ch, const std::string& request_id, const std::string& sku,
                         int64_t delta, absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  v1::AdjustStockRequest request;
  request.set_request_id(request_id);
  request.set_sku(sku);
  request.set_delta(delta);
  v1::AdjustStockResponse response;
  return ToAbsl(v1::InventoryService::NewStub(ch)->AdjustStock(&context, request, &response));
}

absl::StatusOr<v1::Stock> GetStock(const Channel& ch, const std::string& sku,
                                   absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  v1::GetStockRequest request;
  request.set_sku(sku);
  v1::Stock response;
  grpc::Status s = v1::InventoryService::NewStub(ch)->GetStock(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

absl::StatusOr<v1::PlaceOrderResponse> PlaceOrder(
    const Channel& ch, const std::string& request_id, const std::string& user_id,
    const std::vector<std::pair<std::string, int64_t>>& lines, absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  v1::PlaceOrderRequest request;
  request.set_request_id(request_id);
  request.set_user_id(user_id);
  for (const auto& [sku, quantity] : lines) {
    v1::OrderLine* line = request.add_lines();
    line->set_sku(sku);
    line->set_quantity(quantity);
  }
  v1::PlaceOrderResponse response;
  grpc::Status s = v1::OrderService::NewStub(ch)->PlaceOrder(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

absl::StatusOr<v1::Order> GetOrder(const Channel& ch, const std::string& order_id,
                                   int64_t wait_ms) {
  grpc::ClientContext context;
  SetDeadline(&context, WaitTimeout(wait_ms));
  v1::GetOrderRequest request;
  request.set_order_id(order_id);
  request.set_wait_for_settlement_ms(ClampWait(wait_ms));
  v1::Order response;
  grpc::Status s = v1::OrderService::NewStub(ch)->GetOrder(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

absl::Status CreateCampaign(const Channel& ch, const std::string& request_id,
                            const std::string& code, int64_t total_quantity,
                            int64_t per_user_limit) {
  grpc::ClientContext context;
  SetDeadline(&context, kCallTimeout);
  v1::CreateCampaignRequest request;
  request.set_request_id(request_id);
  request.set_code(code);
  request.set_total_quantity(total_quantity);
  request.set_per_user_limit(per_user_limit);
  v1::CreateCampaignResponse response;
  return ToAbsl(v1::CouponService::NewStub(ch)->CreateCampaign(&context, request, &response));
}

absl::StatusOr<v1::RequestCouponResponse> RequestCoupon(const Channel& ch,
                                                        const std::string& request_id,
                                                        const std::string& user_id,
                                                        const std::string& code,
                                                        absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  v1::RequestCouponRequest request;
  request.set_request_id(request_id);
  request.set_user_id(user_id);
  request.set_code(code);
  v1::RequestCouponResponse response;
  grpc::Status s = v1::CouponService::NewStub(ch)->RequestCoupon(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

absl::StatusOr<v1::Campaign> GetCampaign(const Channel& ch, const std::string& code,
                                         absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  v1::GetCampaignRequest request;
  request.set_code(code);
  v1::Campaign response;
  grpc::Status s = v1::CouponService::NewStub(ch)->GetCampaign(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(const Channel& ch,
                                                            const std::string& topic) {
  grpc::ClientContext context;
  SetDeadline(&context, kCallTimeout);
  v1::ListDeadLettersRequest request;
  request.set_topic(topic);
  v1::ListDeadLettersResponse response;
  grpc::Status s =
      v1::DeadLetterService::NewStub(ch)->ListDeadLetters(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return std::vector<v1::DeadLetter>(response.entries().begin(), response.entries().end());
}

absl::StatusOr<v1::ReplayDeadLetterResponse> ReplayDeadLetter(const Channel& ch,
                                                              const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(&context, kCallTimeout);
  v1::ReplayDeadLetterRequest request;
  request.set_id(id);
  v1::ReplayDeadLetterResponse response;
  grpc::Status s =
      v1::DeadLetterService::NewStub(ch)->ReplayDeadLetter(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

absl::StatusOr<v1::CouponRequest> GetCouponRequest(const Channel& ch, const std::string& request_id,
                                                   int64_t wait_ms) {
  grpc::ClientContext context;
  SetDeadline(&context, WaitTimeout(wait_ms));
  v1::GetCouponRequestRequest request;
  request.set_request_id(request_id);
  request.set_wait_for_settlement_ms(ClampWait(wait_ms));
  v1::CouponRequest response;
  grpc::Status s = v1::CouponService::NewStub(ch)->GetCouponRequest(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

absl::StatusOr<std::vector<v1::Event>> ReadWholeLog(const Channel& ch, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  auto stub = v1::EventStoreService::NewStub(ch);
  std::vector<v1::Event> log;
  uint64_t from = 1;
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    v1::ReadAllRequest request;
    request.set_from_position(from);
    request.set_max_count(1000);
    v1::ReadAllResponse response;
    grpc::Status s = stub->ReadAll(&context, request, &response);
    if (!s.ok()) {
      return absl::Status(ToAbsl(s).code(),
                          absl::StrCat("ReadAll from ", from, ": ", s.error_message()));
    }
    for (v1::Event& e : *response.mutable_events()) log.push_back(std::move(e));
    if (response.events_size() == 0 || response.next_position() <= from ||
        response.next_position() > response.head_position()) {
      break;
    }
    from = response.next_position();
  }
  return log;
}

absl::StatusOr<v1::DescribeClusterResponse> DescribeCluster(const Channel& ch,
                                                            absl::Duration timeout) {
  grpc::ClientContext context;
  SetDeadline(&context, timeout);
  v1::DescribeClusterRequest request;
  v1::DescribeClusterResponse response;
  grpc::Status s = v1::ClusterService::NewStub(ch)->DescribeCluster(&context, request, &response);
  if (!s.ok()) return ToAbsl(s);
  return response;
}

absl::Status WaitFor(const std::string& what, absl::Duration timeout,
                     const std::function<bool(std::string* detail)>& condition,
                     absl::Duration poll) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  std::string detail;
  while (true) {
    detail.clear();
    if (condition(&detail)) return absl::OkStatus();
    if (absl::Now() >= deadline) break;
    absl::SleepFor(poll);  // polling a condition under a deadline
  }
  return absl::DeadlineExceededError(absl::StrCat("timed out after ",
                                                  absl::FormatDuration(absl::Now() - start),
                                                  " waiting for ", what, "; last: ", detail));
}

}  // namespace surge::cluster_test::rpc
