#include "tests/crashloop/sender.h"

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::crashloop {
namespace {

// After a failure against a server that still seems up (e.g. a full queue),
// wait this long for a restart before resending to the same one.
constexpr absl::Duration kSameServerBackoff = absl::Milliseconds(100);

struct Answer {
  grpc::Status status;
  bool duplicate = false;
  std::string order_id;
  uint64_t position = 0;
};

Answer SendOnce(const std::shared_ptr<grpc::Channel>& channel, const Command& c,
                absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  Answer answer;
  switch (c.kind) {
    case CommandKind::kPlaceOrder: {
      v1::PlaceOrderRequest request;
      request.set_request_id(c.request_id);
      request.set_user_id(c.user_id);
      for (const auto& [sku, quantity] : c.lines) {
        v1::OrderLine* line = request.add_lines();
        line->set_sku(sku);
        line->set_quantity(quantity);
      }
      v1::PlaceOrderResponse response;
      answer.status = v1::OrderService::NewStub(channel)->PlaceOrder(&context, request, &response);
      answer.duplicate = response.duplicate();
      answer.order_id = response.order_id();
      answer.position = response.position();
      break;
    }
    case CommandKind::kAdjustStock: {
      v1::AdjustStockRequest request;
      request.set_request_id(c.request_id);
      request.set_sku(c.sku);
      request.set_delta(c.delta);
      v1::AdjustStockResponse response;
      answer.status =
          v1::InventoryService::NewStub(channel)->AdjustStock(&context, request, &response);
      answer.duplicate = response.duplicate();
      answer.position = response.position();
      break;
    }
    case CommandKind::kRequestCoupon: {
      v1::RequestCouponRequest request;
      request.set_request_id(c.request_id);
      request.set_user_id(c.user_id);
      request.set_code(c.code);
      v1::RequestCouponResponse response;
      answer.status =
          v1::CouponService::NewStub(channel)->RequestCoupon(&context, request, &response);
      answer.duplicate = response.duplicate();
      answer.position = response.position();
      break;
    }
    case CommandKind::kCreateCampaign: {
      v1::CreateCampaignRequest request;
      request.set_request_id(c.request_id);
      request.set_code(c.code);
      request.set_total_quantity(c.total_quantity);
      request.set_per_user_limit(c.per_user_limit);
      v1::CreateCampaignResponse response;
      answer.status =
          v1::CouponService::NewStub(channel)->CreateCampaign(&context, request, &response);
      answer.duplicate = response.duplicate();
      answer.position = response.position();
      break;
    }
  }
  return answer;
}

}  // namespace

bool IsRetryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:         // refused, reset, killed mid-call
    case grpc::StatusCode::DEADLINE_EXCEEDED:   // may have been applied
    case grpc::StatusCode::CANCELLED:           // the process went away
    case grpc::StatusCode::UNKNOWN:             // a torn connection
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // backpressure: nothing written
    case grpc::StatusCode::INTERNAL:            // e.g. a half-written HTTP/2 frame
      return true;
    default:
      return false;
  }
}

void SendUntilAnswered(Endpoint& endpoint, const SenderOptions& options, CommandRecord* record) {
  const absl::Time give_up = absl::Now() + options.give_up_after;
  while (absl::Now() < give_up) {
    std::optional<Endpoint::View> view = endpoint.WaitUp(give_up - absl::Now());
    if (!view.has_value()) break;
    ++record->attempts;
    Answer answer = SendOnce(view->channel, record->command, options.call_timeout);
    if (answer.status.ok()) {
      record->acknowledged = true;
      record->duplicate = answer.duplicate;
      record->order_id = answer.order_id;
      record->position = answer.position;
      return;
    }
    record->last_error = absl::StrCat(answer.status.error_code(), ": ", answer.status.error_message());
    if (!IsRetryable(answer.status.error_code())) {
      record->rejected = true;
      return;
    }
    ++record->unknown_outcomes;
    // Most failures here are the kill: wait for the next server. A server
    // that is still the same one (backpressure) gets a short pause.
    endpoint.WaitNewerThan(view->generation, kSameServerBackoff);
  }
  record->last_error = absl::StrCat("gave up after ", absl::FormatDuration(options.give_up_after),
                                    "; last error ", record->last_error);
}

}  // namespace surge::crashloop
