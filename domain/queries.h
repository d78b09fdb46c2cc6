// The query side of surge: answers reads from the read models the
// projections maintain (projections/read_models.h), falling back to the
// event log so that a read right after a successful command never answers
// NOT_FOUND:
//   order row missing, stream order-<id> exists     -> PENDING from OrderPlaced
//   coupon request row missing, key coupon:<rid> known -> PENDING from the
//                                                      stored CouponRequested
//   stock row missing, stream stock-<sku> exists    -> available 0
//   campaign row missing, stream campaign-<code> exists -> total from
//                                                      CampaignCreated, issued 0
//   anything else unknown                           -> NOT_FOUND
//
// wait_for_settlement_ms > 0 on GetOrder/GetCouponRequest waits (on the
// Notifier the projections bump after every applied batch, no polling) until
// the answer is no longer PENDING or the deadline passes; a still-PENDING
// answer at the deadline is a valid answer, not an error.
//
//   QueryHandler queries(*store, notifier);
//   queries.GetOrderAsync(id, 5000, [](absl::StatusOr<v1::Order> order) {...});
//
// Thread-safe. Borrows the store and the notifier, which must outlive it.
// Async waits are answered on the handler's own waiter thread; pending ones
// are answered (with what is there) when the handler is destroyed.
#ifndef SURGE_DOMAIN_QUERIES_H_
#define SURGE_DOMAIN_QUERIES_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/notifier.h"
#include "domain/settlement_waiter.h"
#include "eventstore/event_store.h"
#include "surge/v1/surge.pb.h"

namespace surge::domain {

class QueryHandler {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  struct Options {
    // Cluster mode: a key this node has not heard of yet may have been
    // accepted by another node, so a read with wait_for_settlement_ms > 0
    // waits for it to appear (NOT_FOUND only at the deadline). Single node:
    // false, NOT_FOUND at once (the log would know it).
    bool wait_for_unknown_keys = false;
  };

  QueryHandler(eventstore::EventStore& store, Notifier& notifier)
      : QueryHandler(store, notifier, Options()) {}
  QueryHandler(eventstore::EventStore& store, Notifier& notifier, Options options);
  QueryHandler(const QueryHandler&) = delete;
  QueryHandler& operator=(const QueryHandler&) = delete;

  // INVALID_ARGUMENT for a bad id or wait; NOT_FOUND for an unknown order.
  void GetOrderAsync(std::string order_id, int64_t wait_for_settlement_ms,
                     Callback<v1::Order> done);
  absl::StatusOr<v1::Order> GetOrder(std::string order_id, int64_t wait_for_settlement_ms);

  // Like GetOrderAsync, but waits until the order is CANCELLED (a cancelled
  // CONFIRMED order leaves that state only when the saga released it).
  void GetOrderUntilCancelledAsync(std::string order_id, int64_t wait_for_settlement_ms,
                                   Callback<v1::Order> done);

  void GetCouponRequestAsync(std::string request_id, int64_t wait_for_settlement_ms,
                             Callback<v1::CouponRequest> done);
  absl::StatusOr<v1::CouponRequest> GetCouponRequest(std::string request_id,
                                                     int64_t wait_for_settlement_ms);

  // Never wait: answered from one read.
  absl::StatusOr<v1::Stock> GetStock(const std::string& sku);
  absl::StatusOr<v1::Campaign> GetCampaign(const std::string& code);

  // The campaign as its coupon projection (or, in a cluster, the decider of
  // its partition) decided it: the read model's row only, never the local
  // log's CampaignCreated. Waits up to `wait_ms` for the row to appear;
  // NOT_FOUND at the deadline.
  void GetDecidedCampaignAsync(std::string code, int64_t wait_ms, Callback<v1::Campaign> done);

  // Answers every pending wait with what is there now, and every later one
  // at once (shutdown: stop waiting before the server stops serving).
  void DrainWaits() { waiter_.Drain(); }

  // Async waits not answered yet (tests, metrics); may lag by one sweep.
  size_t pending_waits() const { return waiter_.pending(); }

 private:
  absl::StatusOr<v1::Order> ReadOrder(const std::string& order_id);
  absl::StatusOr<v1::CouponRequest> ReadCouponRequest(const std::string& request_id);

  // Reads now; when the answer is pending and wait_ms > 0, registers a wait
  // that re-reads after every notification until settled or the deadline.
  // NOT_FOUND counts as pending when `wait_for_not_found`.
  template <typename T>
  void Settle(std::function<absl::StatusOr<T>()> read, std::function<bool(const T&)> pending,
              int64_t wait_ms, Callback<T> done, bool wait_for_not_found);

  eventstore::EventStore& store_;
  Notifier& notifier_;
  // Last member: its thread (which calls back into this handler) stops first.
  const Options options_;
  SettlementWaiter waiter_;
};

}  // namespace surge::domain

#endif  // SURGE_DOMAIN_QUERIES_H_
