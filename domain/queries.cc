#include "domain/queries.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "domain/commands.h"
#include "domain/internal/await.h"
#include "domain/validation.h"
#include "projections/read_models.h"

namespace surge::domain {
namespace {

// A read-model row, parsed; nullopt when absent.
template <typename T>
absl::StatusOr<std::optional<T>> ReadRow(eventstore::EventStore& store, const char* cf,
                                         const std::string& key) {
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, store.Get(cf, key));
  if (!bytes.has_value()) return std::optional<T>();
  T row;
  if (!row.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("corrupt row '", key, "' in ", cf));
  }
  return std::optional<T>(std::move(row));
}

}  // namespace

QueryHandler::QueryHandler(eventstore::EventStore& store, Notifier& notifier, Options options)
    : store_(store), notifier_(notifier), options_(options), waiter_(notifier) {}

template <typename T>
void QueryHandler::Settle(std::function<absl::StatusOr<T>()> read,
                          std::function<bool(const T&)> pending, int64_t wait_ms, Callback<T> done,
                          bool wait_for_not_found) {
  // Sequence first, then the read: a change after the read is then seen by
  // the waiter as a newer sequence.
  const uint64_t seen = notifier_.sequence();
  absl::StatusOr<T> now = read();
  const bool wait_unknown = wait_for_not_found;
  auto unsettled = [wait_unknown, pending](const absl::StatusOr<T>& answer) {
    if (answer.ok()) return pending(*answer);
    return wait_unknown && absl::IsNotFound(answer.status());
  };
  if (wait_ms <= 0 || !unsettled(now)) return done(std::move(now));
  waiter_.Add(absl::Now() + absl::Milliseconds(wait_ms), seen,
              [read = std::move(read), unsettled, done = std::move(done)](bool final) {
                absl::StatusOr<T> answer = read();
                if (!final && unsettled(answer)) return false;
                done(std::move(answer));
                return true;
              });
}

// --- orders -----------------------------------------------------------------

absl::StatusOr<v1::Order> QueryHandler::ReadOrder(const std::string& order_id) {
  SURGE_ASSIGN_OR_RETURN(std::optional<v1::Order> row,
                         ReadRow<v1::Order>(store_, projections::kOrdersCf, order_id));
  if (row.has_value()) return *std::move(row);
  // Not projected yet: the log knows the order if the command succeeded.
  SURGE_ASSIGN_OR_RETURN(std::vector<v1::Event> events,
                         store_.ReadStream(OrderStream(order_id), 0, 1));
  if (events.empty() || !events[0].has_order_placed()) {
    return absl::NotFoundError(absl::StrCat("order ", order_id, " not found"));
  }
  const v1::OrderPlaced& placed = events[0].order_placed();
  v1::Order order;
  order.set_order_id(placed.order_id());
  order.set_user_id(placed.user_id());
  *order.mutable_lines() = placed.lines();
  order.set_status(v1::ORDER_STATUS_PENDING);
  order.set_updated_position(events[0].position());
  return order;
}

void QueryHandler::GetOrderAsync(std::string order_id, int64_t wait_for_settlement_ms,
                                 Callback<v1::Order> done) {
  if (absl::Status s = ValidateId("order_id", order_id); !s.ok()) return done(s);
  if (absl::Status s =
          ValidateWaitForSettlementMs("wait_for_settlement_ms", wait_for_settlement_ms);
      !s.ok()) {
    return done(s);
  }
  Settle<v1::Order>([this, order_id = std::move(order_id)] { return ReadOrder(order_id); },
                    [](const v1::Order& o) { return o.status() == v1::ORDER_STATUS_PENDING; },
                    wait_for_settlement_ms, std::move(done), options_.wait_for_unknown_keys);
}

void QueryHandler::GetOrderUntilCancelledAsync(std::string order_id, int64_t wait_for_settlement_ms,
                                               Callback<v1::Order> done) {
  if (absl::Status s = ValidateId("order_id", order_id); !s.ok()) return done(s);
  if (absl::Status s =
          ValidateWaitForSettlementMs("wait_for_settlement_ms", wait_for_settlement_ms);
      !s.ok()) {
    return done(s);
  }
  Settle<v1::Order>([this, order_id = std::move(order_id)] { return ReadOrder(order_id); },
                    [](const v1::Order& o) { return o.status() != v1::ORDER_STATUS_CANCELLED; },
                    wait_for_settlement_ms, std::move(done), options_.wait_for_unknown_keys);
}

absl::StatusOr<v1::Order> QueryHandler::GetOrder(std::string order_id,
                                                 int64_t wait_for_settlement_ms) {
  return internal::AwaitAnswer<v1::Order>([&](Callback<v1::Order> cb) {
    GetOrderAsync(std::move(order_id), wait_for_settlement_ms, std::move(cb));
  });
}

// --- coupon requests --------------------------------------------------------

absl::StatusOr<v1::CouponRequest> QueryHandler::ReadCouponRequest(const std::string& request_id) {
  SURGE_ASSIGN_OR_RETURN(
      std::optional<v1::CouponRequest> row,
      ReadRow<v1::CouponRequest>(store_, projections::kCouponRequestsCf, request_id));
  if (row.has_value()) return *std::move(row);
  SURGE_ASSIGN_OR_RETURN(std::optional<eventstore::AppendResult> appended,
                         store_.LookupIdempotencyKey(CouponRequestKey(request_id)));
  if (!appended.has_value()) {
    return absl::NotFoundError(absl::StrCat("coupon request ", request_id, " not found"));
  }
  SURGE_ASSIGN_OR_RETURN(std::vector<v1::Event> events,
                         store_.ReadAll(appended->first_position, 1));
  if (events.empty() || !events[0].has_coupon_requested()) {
    return absl::InternalError(absl::StrCat("coupon request ", request_id,
                                            ": no CouponRequested at position ",
                                            appended->first_position));
  }
  const v1::CouponRequested& requested = events[0].coupon_requested();
  v1::CouponRequest answer;
  answer.set_request_id(request_id);
  answer.set_user_id(requested.user_id());
  answer.set_code(requested.code());
  answer.set_status(v1::COUPON_REQUEST_STATUS_PENDING);
  answer.set_updated_position(events[0].position());
  return answer;
}

void QueryHandler::GetCouponRequestAsync(std::string request_id, int64_t wait_for_settlement_ms,
                                         Callback<v1::CouponRequest> done) {
  if (absl::Status s = ValidateRequestId("request_id", request_id); !s.ok()) return done(s);
  if (absl::Status s =
          ValidateWaitForSettlementMs("wait_for_settlement_ms", wait_for_settlement_ms);
      !s.ok()) {
    return done(s);
  }
  Settle<v1::CouponRequest>(
      [this, request_id = std::move(request_id)] { return ReadCouponRequest(request_id); },
      [](const v1::CouponRequest& r) { return r.status() == v1::COUPON_REQUEST_STATUS_PENDING; },
      wait_for_settlement_ms, std::move(done), options_.wait_for_unknown_keys);
}

absl::StatusOr<v1::CouponRequest> QueryHandler::GetCouponRequest(std::string request_id,
                                                                 int64_t wait_for_settlement_ms) {
  return internal::AwaitAnswer<v1::CouponRequest>([&](Callback<v1::CouponRequest> cb) {
    GetCouponRequestAsync(std::move(request_id), wait_for_settlement_ms, std::move(cb));
  });
}

// --- stock and campaigns ----------------------------------------------------

absl::StatusOr<v1::Stock> QueryHandler::GetStock(const std::string& sku) {
  SURGE_RETURN_IF_ERROR(ValidateId("sku", sku));
  SURGE_ASSIGN_OR_RETURN(std::optional<v1::Stock> row,
                         ReadRow<v1::Stock>(store_, projections::kStockCf, sku));
  if (row.has_value()) return *std::move(row);
  SURGE_ASSIGN_OR_RETURN(int64_t version, store_.StreamVersion(StockStream(sku)));
  if (version == eventstore::kNoStream) {
    return absl::NotFoundError(absl::StrCat("sku ", sku, " not found"));
  }
  // Adjusted but not projected yet: nothing is available until it is.
  v1::Stock stock;
  stock.set_sku(sku);
  return stock;
}

void QueryHandler::GetDecidedCampaignAsync(std::string code, int64_t wait_ms,
                                           Callback<v1::Campaign> done) {
  if (absl::Status s = ValidateId("code", code); !s.ok()) return done(s);
  Settle<v1::Campaign>(
      [this, code = std::move(code)]() -> absl::StatusOr<v1::Campaign> {
        SURGE_ASSIGN_OR_RETURN(std::optional<v1::Campaign> row,
                               ReadRow<v1::Campaign>(store_, projections::kCampaignsCf, code));
        if (!row.has_value()) {
          return absl::NotFoundError(absl::StrCat("campaign ", code, " not decided yet"));
        }
        return *std::move(row);
      },
      [](const v1::Campaign&) { return false; }, wait_ms, std::move(done),
      /*wait_for_not_found=*/true);
}

absl::StatusOr<v1::Campaign> QueryHandler::GetCampaign(const std::string& code) {
  SURGE_RETURN_IF_ERROR(ValidateId("code", code));
  SURGE_ASSIGN_OR_RETURN(std::optional<v1::Campaign> row,
                         ReadRow<v1::Campaign>(store_, projections::kCampaignsCf, code));
  if (row.has_value()) return *std::move(row);
  SURGE_ASSIGN_OR_RETURN(std::vector<v1::Event> events,
                         store_.ReadStream(CampaignStream(code), 0, 1));
  if (events.empty() || !events[0].has_campaign_created()) {
    return absl::NotFoundError(absl::StrCat("campaign ", code, " not found"));
  }
  const v1::CampaignCreated& created = events[0].campaign_created();
  v1::Campaign campaign;
  campaign.set_code(created.code());
  campaign.set_total_quantity(created.total_quantity());
  campaign.set_issued(0);
  campaign.set_remaining(created.total_quantity());
  campaign.set_per_user_limit(created.per_user_limit());
  campaign.set_updated_position(events[0].position());
  return campaign;
}

}  // namespace surge::domain
