// The command side of surge: turns validated commands into events appended
// atomically to the event log, with the idempotency key that makes a repeat
// of a request_id answer the first result and write nothing.
//
//   CommandHandler commands(*store);
//   commands.PlaceOrderAsync(std::move(cmd), [](absl::StatusOr<PlaceOrderResult> r) {...});
//
// Streams and keys:
//   PlaceOrder      order-<id>: OrderPlaced + one StockDecreaseRequested per
//                   line (NO_STREAM), key "order:<request_id>"
//   CancelOrder     order-<id>: OrderCancellationRequested (exact version),
//                   key "cancel:<request_id>"
//   AdjustStock     stock-<sku>: StockAdjusted, key "stock:<request_id>"
//   CreateCampaign  campaign-<code>: CampaignCreated (NO_STREAM),
//                   key "campaign:<request_id>"
//   RequestCoupon   coupon-<code>: CouponRequested, key "coupon:<request_id>"
//
// Status codes: INVALID_ARGUMENT (bad input, nothing read or written),
// NOT_FOUND (unknown order / campaign), ALREADY_EXISTS (campaign code taken),
// FAILED_PRECONDITION (request_id reused for a different command), ABORTED
// (a concurrency conflict that survived the retries), RESOURCE_EXHAUSTED
// (append queue full) and UNAVAILABLE (store closing or disk refusing)
// pass through from the store.
//
// Thread-safe; holds no state of its own besides the borrowed store, which
// must outlive it. Async callbacks run either on the calling thread (early
// errors) or on the store's appender thread: keep them short.
#ifndef SURGE_DOMAIN_COMMANDS_H_
#define SURGE_DOMAIN_COMMANDS_H_

#include <functional>
#include <string>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "domain/command_types.h"
#include "eventstore/event_store.h"

namespace surge::domain {

// Stream ids and idempotency keys, shared with the query side.
std::string OrderStream(absl::string_view order_id);
std::string StockStream(absl::string_view sku);
std::string CampaignStream(absl::string_view code);
std::string CouponStream(absl::string_view code);
std::string CouponRequestKey(absl::string_view request_id);

class CommandHandler {
 public:
  struct Options {
    // How often a command whose expected version raced with another writer
    // re-reads the stream and tries again before answering ABORTED.
    int max_conflict_retries = 3;
    // Admission of the high-volume commands (PlaceOrder, RequestCoupon),
    // asked after validation: a non-OK status (RESOURCE_EXHAUSTED when the
    // decisions lag too far behind the log) is the answer, and nothing is
    // written. Empty: always admitted. Cancels and admin commands are never
    // refused by it (they are rare, and cancels help drain a backlog).
    std::function<absl::Status()> admit;
    // Cluster mode: a campaign accepted here can lose to one with the same
    // code accepted on another node at the same moment (the coupon decider
    // of its partition keeps the first). When set, a CreateCampaign the log
    // took (new or a repeat) is answered through this hook instead, with
    // the command (per_user_limit already defaulted to 1) and the log's
    // result: it calls `done` once, e.g. with the result when the decided
    // campaign is this one, ALREADY_EXISTS when another won. Empty: the
    // log's result is the answer (one node decides in log order).
    std::function<void(const CreateCampaignCommand& command, const WriteResult& accepted,
                       std::function<void(absl::StatusOr<WriteResult>)> done)>
        confirm_campaign;
  };

  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  explicit CommandHandler(eventstore::EventStore& store) : CommandHandler(store, Options()) {}
  CommandHandler(eventstore::EventStore& store, Options options);
  CommandHandler(const CommandHandler&) = delete;
  CommandHandler& operator=(const CommandHandler&) = delete;

  // Each async call invokes `done` exactly once.
  void PlaceOrderAsync(PlaceOrderCommand command, Callback<PlaceOrderResult> done);
  void CancelOrderAsync(CancelOrderCommand command, Callback<CancelOrderResult> done);
  void AdjustStockAsync(AdjustStockCommand command, Callback<WriteResult> done);
  void CreateCampaignAsync(CreateCampaignCommand command, Callback<WriteResult> done);
  void RequestCouponAsync(RequestCouponCommand command, Callback<WriteResult> done);

  // Blocking forms of the above (tests, tools).
  absl::StatusOr<PlaceOrderResult> PlaceOrder(PlaceOrderCommand command);
  absl::StatusOr<CancelOrderResult> CancelOrder(CancelOrderCommand command);
  absl::StatusOr<WriteResult> AdjustStock(AdjustStockCommand command);
  absl::StatusOr<WriteResult> CreateCampaign(CreateCampaignCommand command);
  absl::StatusOr<WriteResult> RequestCoupon(RequestCouponCommand command);

 private:
  void PlaceOrderAttempt(PlaceOrderCommand command, int attempt, Callback<PlaceOrderResult> done);
  void CancelOrderAttempt(CancelOrderCommand command, int attempt,
                          Callback<CancelOrderResult> done);

  // OK when the campaign exists, NOT_FOUND when it does not.
  absl::Status CheckCampaignExists(const std::string& code);

  eventstore::EventStore& store_;
  const Options options_;
  // Campaigns seen to exist. A campaign is never deleted, so a hit spares
  // RequestCoupon a read of the log per request; misses are not cached (the
  // campaign may be created the next moment).
  absl::Mutex campaigns_mu_;
  std::unordered_set<std::string> known_campaigns_ ABSL_GUARDED_BY(campaigns_mu_);
};

}  // namespace surge::domain

#endif  // SURGE_DOMAIN_COMMANDS_H_
