#include "domain/commands.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "domain/fingerprint.h"
#include "domain/internal/await.h"
#include "domain/order_id.h"
#include "domain/validation.h"
#include "projections/read_models.h"
#include "surge/v1/surge.pb.h"

namespace surge::domain {
namespace {

using eventstore::AppendRequest;
using eventstore::AppendResult;

v1::Event NewEvent(std::string stream, absl::string_view request_id,
                   absl::string_view correlation_id) {
  v1::Event event;
  event.set_stream_id(std::move(stream));
  event.set_request_id(std::string(request_id));
  event.set_correlation_id(std::string(correlation_id));
  return event;
}

// The store answers FAILED_PRECONDITION when an idempotency key comes back
// with another fingerprint: say so in the client's terms.
absl::Status MapStoreError(const absl::Status& status, absl::string_view request_id) {
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    return absl::FailedPreconditionError(
        absl::StrCat("request_id '", request_id, "' was already used for a different command"));
  }
  return status;
}

WriteResult ToWriteResult(const AppendResult& result) {
  return WriteResult{.position = result.first_position, .duplicate = result.duplicate};
}

}  // namespace

std::string OrderStream(absl::string_view order_id) { return absl::StrCat("order-", order_id); }
std::string StockStream(absl::string_view sku) { return absl::StrCat("stock-", sku); }
std::string CampaignStream(absl::string_view code) { return absl::StrCat("campaign-", code); }
std::string CouponStream(absl::string_view code) { return absl::StrCat("coupon-", code); }
std::string CouponRequestKey(absl::string_view request_id) {
  return absl::StrCat("coupon:", request_id);
}

CommandHandler::CommandHandler(eventstore::EventStore& store, Options options)
    : store_(store), options_(options) {}

// --- PlaceOrder -------------------------------------------------------------

void CommandHandler::PlaceOrderAsync(PlaceOrderCommand command, Callback<PlaceOrderResult> done) {
  if (absl::Status s = Validate(command); !s.ok()) return done(s);
  if (options_.admit) {
    if (absl::Status s = options_.admit(); !s.ok()) return done(s);
  }
  PlaceOrderAttempt(std::move(command), 0, std::move(done));
}

void CommandHandler::PlaceOrderAttempt(PlaceOrderCommand command, int attempt,
                                       Callback<PlaceOrderResult> done) {
  const std::string order_id = OrderIdFor(command.request_id);
  const std::string stream = OrderStream(order_id);

  AppendRequest request;
  v1::Event placed = NewEvent(stream, command.request_id, order_id);
  v1::OrderPlaced* payload = placed.mutable_order_placed();
  payload->set_order_id(order_id);
  payload->set_user_id(command.user_id);
  // The order id is derived from the request_id, so it adds nothing to the
  // fingerprint: a repeat must match on what the client sent.
  Fingerprint fingerprint("PlaceOrder");
  fingerprint.Add(command.user_id);
  for (const v1::OrderLine& line : command.lines) {
    *payload->add_lines() = line;
    fingerprint.Add(line.sku()).Add(line.quantity());
  }
  request.events.push_back(std::move(placed));
  for (size_t i = 0; i < command.lines.size(); ++i) {
    v1::Event decrease = NewEvent(stream, command.request_id, order_id);
    v1::StockDecreaseRequested* d = decrease.mutable_stock_decrease_requested();
    d->set_order_id(order_id);
    d->set_sku(command.lines[i].sku());
    d->set_quantity(command.lines[i].quantity());
    d->set_line_index(static_cast<int32_t>(i));
    request.events.push_back(std::move(decrease));
  }
  request.expected_versions[stream] = eventstore::kNoStream;
  request.idempotency_key = absl::StrCat("order:", command.request_id);
  request.fingerprint = fingerprint.Digest();
  request.reply = order_id;

  store_.AppendAsync(
      std::move(request), [this, command = std::move(command), attempt,
                           done = std::move(done)](absl::StatusOr<AppendResult> result) mutable {
        if (result.ok()) {
          return done(PlaceOrderResult{.order_id = result->reply,
                                       .position = result->first_position,
                                       .duplicate = result->duplicate});
        }
        // ABORTED: the order's stream exists here without this
        // request's idempotency key (a cancellation of the
        // order, placed on another node, was accepted here):
        // the order exists, this is a repeat of it.
        if (result.status().code() == absl::StatusCode::kAborted) {
          return done(PlaceOrderResult{
              .order_id = OrderIdFor(command.request_id), .position = 0, .duplicate = true});
        }
        done(MapStoreError(result.status(), command.request_id));
      });
}

// --- CancelOrder ------------------------------------------------------------

void CommandHandler::CancelOrderAsync(CancelOrderCommand command,
                                      Callback<CancelOrderResult> done) {
  if (absl::Status s = Validate(command); !s.ok()) return done(s);
  CancelOrderAttempt(std::move(command), 0, std::move(done));
}

void CommandHandler::CancelOrderAttempt(CancelOrderCommand command, int attempt,
                                        Callback<CancelOrderResult> done) {
  const std::string stream = OrderStream(command.order_id);
  // An order stream holds OrderPlaced, one event per line and a few saga
  // events: bounded by the 100-line limit, so one read sees all of it.
  absl::StatusOr<std::vector<v1::Event>> events = store_.ReadStream(stream, 0, 100000);
  if (!events.ok()) return done(events.status());
  int64_t expected = eventstore::kAnyVersion;
  if (events->empty()) {
    // Placed on another node (cluster mode): the read model knows it.
    absl::StatusOr<std::optional<std::string>> row =
        store_.Get(projections::kOrdersCf, command.order_id);
    if (!row.ok()) return done(row.status());
    v1::Order order;
    if (!row->has_value() || !order.ParseFromString(**row)) {
      return done(absl::NotFoundError(absl::StrCat("order ", command.order_id, " not found")));
    }
    if (order.status() == v1::ORDER_STATUS_CANCELLED) {
      return done(CancelOrderResult{.order_id = command.order_id, .already_cancelled = true});
    }
  } else {
    expected = events->back().stream_version();
  }
  for (const v1::Event& event : *events) {
    if (event.has_order_cancelled()) {
      return done(CancelOrderResult{.order_id = command.order_id, .already_cancelled = true});
    }
  }

  AppendRequest request;
  v1::Event event = NewEvent(stream, command.request_id, command.order_id);
  event.mutable_order_cancellation_requested()->set_order_id(command.order_id);
  event.mutable_order_cancellation_requested()->set_reason("cancelled by the user");
  request.events.push_back(std::move(event));
  // The exact version read: if the saga moved the order meanwhile (e.g. it
  // cancelled it), re-read and decide again rather than append blindly.
  request.expected_versions[stream] = expected;
  request.idempotency_key = absl::StrCat("cancel:", command.request_id);
  request.fingerprint = Fingerprint("CancelOrder").Add(command.order_id).Digest();

  store_.AppendAsync(
      std::move(request), [this, command = std::move(command), attempt,
                           done = std::move(done)](absl::StatusOr<AppendResult> result) mutable {
        if (result.ok()) {
          return done(CancelOrderResult{.order_id = command.order_id,
                                        .position = result->first_position,
                                        .duplicate = result->duplicate});
        }
        if (result.status().code() == absl::StatusCode::kAborted &&
            attempt < options_.max_conflict_retries) {
          return CancelOrderAttempt(std::move(command), attempt + 1, std::move(done));
        }
        done(MapStoreError(result.status(), command.request_id));
      });
}

// --- AdjustStock ------------------------------------------------------------

void CommandHandler::AdjustStockAsync(AdjustStockCommand command, Callback<WriteResult> done) {
  if (absl::Status s = Validate(command); !s.ok()) return done(s);
  AppendRequest request;
  v1::Event event = NewEvent(StockStream(command.sku), command.request_id, command.request_id);
  event.mutable_stock_adjusted()->set_sku(command.sku);
  event.mutable_stock_adjusted()->set_delta(command.delta);
  request.events.push_back(std::move(event));
  request.idempotency_key = absl::StrCat("stock:", command.request_id);
  request.fingerprint = Fingerprint("AdjustStock").Add(command.sku).Add(command.delta).Digest();
  store_.AppendAsync(std::move(request),
                     [request_id = std::move(command.request_id),
                      done = std::move(done)](absl::StatusOr<AppendResult> result) {
                       if (!result.ok()) return done(MapStoreError(result.status(), request_id));
                       done(ToWriteResult(*result));
                     });
}

// --- CreateCampaign ---------------------------------------------------------

void CommandHandler::CreateCampaignAsync(CreateCampaignCommand command,
                                         Callback<WriteResult> done) {
  if (absl::Status s = Validate(command); !s.ok()) return done(s);
  const int64_t per_user_limit = command.per_user_limit == 0 ? 1 : command.per_user_limit;
  const std::string stream = CampaignStream(command.code);
  AppendRequest request;
  v1::Event event = NewEvent(stream, command.request_id, command.code);
  v1::CampaignCreated* created = event.mutable_campaign_created();
  created->set_code(command.code);
  created->set_total_quantity(command.total_quantity);
  created->set_per_user_limit(per_user_limit);
  request.events.push_back(std::move(event));
  request.expected_versions[stream] = eventstore::kNoStream;
  request.idempotency_key = absl::StrCat("campaign:", command.request_id);
  request.fingerprint = Fingerprint("CreateCampaign")
                            .Add(command.code)
                            .Add(command.total_quantity)
                            .Add(per_user_limit)
                            .Digest();
  // Copied before the call: argument evaluation order is unspecified.
  std::string key = request.idempotency_key;
  command.per_user_limit = per_user_limit;
  if (options_.confirm_campaign) {
    // Whatever the log answers, a success goes through the confirmation.
    done = [this, command, done = std::move(done)](absl::StatusOr<WriteResult> result) {
      if (!result.ok()) return done(std::move(result));
      options_.confirm_campaign(command, *result, done);
    };
  }
  store_.AppendAsync(
      std::move(request), [this, key = std::move(key), command = std::move(command),
                           done = std::move(done)](absl::StatusOr<AppendResult> result) {
        if (result.ok()) return done(ToWriteResult(*result));
        if (result.status().code() != absl::StatusCode::kAborted) {
          return done(MapStoreError(result.status(), command.request_id));
        }
        // The stream exists. If it was this very request (the store checked
        // the version before the key), the repeat is a duplicate, not a clash.
        absl::StatusOr<std::optional<AppendResult>> first = store_.LookupIdempotencyKey(key);
        if (first.ok() && first->has_value()) {
          AppendResult repeat = **first;
          repeat.duplicate = true;
          return done(ToWriteResult(repeat));
        }
        done(absl::AlreadyExistsError(absl::StrCat("campaign ", command.code, " already exists")));
      });
}

// --- RequestCoupon ----------------------------------------------------------

void CommandHandler::RequestCouponAsync(RequestCouponCommand command, Callback<WriteResult> done) {
  if (absl::Status s = Validate(command); !s.ok()) return done(s);
  if (options_.admit) {
    if (absl::Status s = options_.admit(); !s.ok()) return done(s);
  }
  if (absl::Status s = CheckCampaignExists(command.code); !s.ok()) return done(s);
  AppendRequest request;
  v1::Event event = NewEvent(CouponStream(command.code), command.request_id, command.request_id);
  v1::CouponRequested* requested = event.mutable_coupon_requested();
  requested->set_request_id(command.request_id);
  requested->set_user_id(command.user_id);
  requested->set_code(command.code);
  request.events.push_back(std::move(event));
  request.idempotency_key = CouponRequestKey(command.request_id);
  request.fingerprint =
      Fingerprint("RequestCoupon").Add(command.user_id).Add(command.code).Digest();
  store_.AppendAsync(std::move(request),
                     [request_id = std::move(command.request_id),
                      done = std::move(done)](absl::StatusOr<AppendResult> result) {
                       if (!result.ok()) return done(MapStoreError(result.status(), request_id));
                       done(ToWriteResult(*result));
                     });
}

absl::Status CommandHandler::CheckCampaignExists(const std::string& code) {
  // Bounds the cache; campaigns are admin-created and few, so this is a
  // safety net, not an eviction policy.
  constexpr size_t kMaxKnownCampaigns = 100000;
  {
    absl::MutexLock lock(&campaigns_mu_);
    if (known_campaigns_.count(code) != 0) return absl::OkStatus();
  }
  absl::StatusOr<int64_t> version = store_.StreamVersion(CampaignStream(code));
  if (!version.ok()) return version.status();
  // Created on another node (cluster mode): the read model knows it.
  bool known = *version != eventstore::kNoStream;
  if (!known) {
    absl::StatusOr<std::optional<std::string>> row = store_.Get(projections::kCampaignsCf, code);
    if (!row.ok()) return row.status();
    known = row->has_value();
  }
  if (!known) {
    return absl::NotFoundError(absl::StrCat("campaign ", code, " not found"));
  }
  absl::MutexLock lock(&campaigns_mu_);
  if (known_campaigns_.size() >= kMaxKnownCampaigns) known_campaigns_.clear();
  known_campaigns_.insert(code);
  return absl::OkStatus();
}

// --- blocking forms ---------------------------------------------------------

absl::StatusOr<PlaceOrderResult> CommandHandler::PlaceOrder(PlaceOrderCommand command) {
  return internal::AwaitAnswer<PlaceOrderResult>(
      [&](Callback<PlaceOrderResult> cb) { PlaceOrderAsync(std::move(command), std::move(cb)); });
}

absl::StatusOr<CancelOrderResult> CommandHandler::CancelOrder(CancelOrderCommand command) {
  return internal::AwaitAnswer<CancelOrderResult>(
      [&](Callback<CancelOrderResult> cb) { CancelOrderAsync(std::move(command), std::move(cb)); });
}

absl::StatusOr<WriteResult> CommandHandler::AdjustStock(AdjustStockCommand command) {
  return internal::AwaitAnswer<WriteResult>(
      [&](Callback<WriteResult> cb) { AdjustStockAsync(std::move(command), std::move(cb)); });
}

absl::StatusOr<WriteResult> CommandHandler::CreateCampaign(CreateCampaignCommand command) {
  return internal::AwaitAnswer<WriteResult>(
      [&](Callback<WriteResult> cb) { CreateCampaignAsync(std::move(command), std::move(cb)); });
}

absl::StatusOr<WriteResult> CommandHandler::RequestCoupon(RequestCouponCommand command) {
  return internal::AwaitAnswer<WriteResult>(
      [&](Callback<WriteResult> cb) { RequestCouponAsync(std::move(command), std::move(cb)); });
}

}  // namespace surge::domain
