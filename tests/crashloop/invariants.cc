#include "tests/crashloop/invariants.h"

#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace surge::crashloop {
namespace {

// The decisions the log holds about one order line.
struct LineFacts {
  int decreased = 0;
  int failed = 0;
  int released = 0;
};

// The log indexed by the things the client knows (request ids, order ids).
struct LogIndex {
  std::map<std::string, std::vector<const v1::Event*>> command_events;  // by request id
  std::map<std::string, std::vector<const v1::Event*>> placed;          // by order id
  std::map<std::string, int> order_decisions;                          // by order id
  std::map<std::pair<std::string, int32_t>, LineFacts> lines;          // order id, line
  std::map<std::string, int> coupon_decisions;                         // by request id
};

bool IsCommandEvent(const v1::Event& e) {
  return e.has_order_placed() || e.has_stock_adjusted() || e.has_coupon_requested() ||
         e.has_campaign_created();
}

LogIndex Index(const std::vector<v1::Event>& log) {
  LogIndex index;
  for (const v1::Event& e : log) {
    if (IsCommandEvent(e)) index.command_events[e.request_id()].push_back(&e);
    switch (e.payload_case()) {
      case v1::Event::kOrderPlaced:
        index.placed[e.order_placed().order_id()].push_back(&e);
        break;
      case v1::Event::kOrderConfirmed:
        ++index.order_decisions[e.order_confirmed().order_id()];
        break;
      case v1::Event::kOrderCancelled:
        ++index.order_decisions[e.order_cancelled().order_id()];
        break;
      case v1::Event::kStockDecreased:
        ++index.lines[{e.stock_decreased().order_id(), e.stock_decreased().line_index()}].decreased;
        break;
      case v1::Event::kStockDecreaseFailed:
        ++index.lines[{e.stock_decrease_failed().order_id(), e.stock_decrease_failed().line_index()}]
              .failed;
        break;
      case v1::Event::kStockReleased:
        ++index.lines[{e.stock_released().order_id(), e.stock_released().line_index()}].released;
        break;
      case v1::Event::kCouponIssued:
        ++index.coupon_decisions[e.coupon_issued().request_id()];
        break;
      case v1::Event::kCouponRejected:
        ++index.coupon_decisions[e.coupon_rejected().request_id()];
        break;
      default:
        break;
    }
  }
  return index;
}

std::string Describe(const CommandRecord& r) {
  return absl::StrCat(CommandKindName(r.command.kind), " ", r.command.request_id,
                      r.order_id.empty() ? "" : absl::StrCat(" (order ", r.order_id, ")"));
}

bool SameLines(const Command& command, const v1::OrderPlaced& placed) {
  if (static_cast<int>(command.lines.size()) != placed.lines_size()) return false;
  for (int i = 0; i < placed.lines_size(); ++i) {
    if (command.lines[i].first != placed.lines(i).sku() ||
        command.lines[i].second != placed.lines(i).quantity()) {
      return false;
    }
  }
  return true;
}

void CheckCommands(const std::vector<CommandRecord>& records, const LogIndex& index,
                   InvariantReport* report) {
  std::set<std::string> sent;
  std::set<std::string> order_ids;
  for (const CommandRecord& r : records) {
    sent.insert(r.command.request_id);
    report->Check(kAllResolved, r.acknowledged,
                  absl::StrCat(Describe(r), r.rejected ? " was rejected: " : " is unresolved: ",
                               r.last_error));
    if (!r.acknowledged) continue;
    auto it = index.command_events.find(r.command.request_id);
    const size_t n = it == index.command_events.end() ? 0 : it->second.size();
    report->Check(kAckedOnce, n == 1, absl::StrCat(Describe(r), " is in the log ", n, " times"));
    if (n != 1) continue;
    const v1::Event& e = *it->second.front();
    report->Check(kAckedOnce, e.position() == r.position,
                  absl::StrCat(Describe(r), " answered position ", r.position,
                               " but its event is at ", e.position()));
    if (r.command.kind == CommandKind::kPlaceOrder) {
      report->Check(kAckedOnce,
                    e.has_order_placed() && e.order_placed().order_id() == r.order_id &&
                        SameLines(r.command, e.order_placed()),
                    absl::StrCat(Describe(r), " answered an order the log does not hold as sent"));
      report->Check(kAckedOnce, order_ids.insert(r.order_id).second,
                    absl::StrCat(Describe(r), " shares its order id with another request"));
      auto placed = index.placed.find(r.order_id);
      report->Check(kAckedOnce, placed != index.placed.end() && placed->second.size() == 1,
                    absl::StrCat(Describe(r), " order placed more than once"));
    }
  }
  for (const auto& [request_id, events] : index.command_events) {
    report->Check(kNoPhantom, sent.contains(request_id),
                  absl::StrCat("the log holds ", events.size(), " command event(s) of request ",
                               request_id, " which the client never sent"));
  }
}

void CheckSettled(const std::vector<CommandRecord>& records, const LogIndex& index,
                  const Replay& replay, InvariantReport* report) {
  for (const CommandRecord& r : records) {
    if (!r.acknowledged) continue;
    if (r.command.kind == CommandKind::kRequestCoupon) {
      auto it = index.coupon_decisions.find(r.command.request_id);
      const int n = it == index.coupon_decisions.end() ? 0 : it->second;
      report->Check(kSettled, n == 1, absl::StrCat(Describe(r), " has ", n, " decisions"));
      continue;
    }
    if (r.command.kind != CommandKind::kPlaceOrder) continue;
    auto decided = index.order_decisions.find(r.order_id);
    const int n = decided == index.order_decisions.end() ? 0 : decided->second;
    report->Check(kSettled, n == 1, absl::StrCat(Describe(r), " has ", n, " decisions"));
    auto status = replay.orders.find(r.order_id);
    const bool confirmed =
        status != replay.orders.end() && status->second == v1::ORDER_STATUS_CONFIRMED;
    int failed_lines = 0;
    for (int32_t line = 0; line < static_cast<int32_t>(r.command.lines.size()); ++line) {
      auto facts_it = index.lines.find({r.order_id, line});
      const LineFacts facts = facts_it == index.lines.end() ? LineFacts{} : facts_it->second;
      failed_lines += facts.failed;
      report->Check(kSettled, facts.decreased + facts.failed == 1,
                    absl::StrCat(Describe(r), " line ", line, " decided ",
                                 facts.decreased + facts.failed, " times"));
      // A confirmed order keeps its stock; a cancelled one gives back every
      // line it took, exactly once (the compensation).
      const int want_released = confirmed ? 0 : facts.decreased;
      report->Check(kSettled, facts.released == want_released,
                    absl::StrCat(Describe(r), " line ", line, " released ", facts.released,
                                 " times, want ", want_released));
    }
    if (n == 1) {
      report->Check(kSettled, confirmed == (failed_lines == 0),
                    absl::StrCat(Describe(r), confirmed ? " confirmed with " : " cancelled with ",
                                 failed_lines, " failed lines"));
    }
  }
}

void CheckStock(const std::vector<CommandRecord>& records, const std::vector<v1::Event>& log,
                const Replay& replay, InvariantReport* report) {
  // The client's truth: what it restocked, and what its confirmed orders took.
  std::map<std::string, int64_t> restocked, confirmed;
  for (const CommandRecord& r : records) {
    if (!r.acknowledged) continue;
    if (r.command.kind == CommandKind::kAdjustStock) restocked[r.command.sku] += r.command.delta;
    if (r.command.kind == CommandKind::kPlaceOrder) {
      auto status = replay.orders.find(r.order_id);
      if (status == replay.orders.end() || status->second != v1::ORDER_STATUS_CONFIRMED) continue;
      for (const auto& [sku, quantity] : r.command.lines) confirmed[sku] += quantity;
    }
  }
  std::set<std::string> skus;
  for (const auto& [sku, n] : restocked) skus.insert(sku);
  for (const auto& [sku, row] : replay.stock) skus.insert(sku);
  for (const std::string& sku : skus) {
    auto row_it = replay.stock.find(sku);
    const Replay::StockRow row = row_it == replay.stock.end() ? Replay::StockRow{} : row_it->second;
    const int64_t want = restocked[sku] - confirmed[sku];
    report->Check(kStockConservation, row.available == want,
                  absl::StrCat(sku, ": available ", row.available, " in the log, but restocks ",
                               restocked[sku], " - confirmed ", confirmed[sku], " = ", want));
    report->Check(kStockConservation, row.reserved == confirmed[sku],
                  absl::StrCat(sku, ": reserved ", row.reserved, " in the log, confirmed ",
                               confirmed[sku]));
    report->Check(kStockNonNegative, row.available >= 0,
                  absl::StrCat(sku, ": available ", row.available));
  }
  // Never negative at any point: the running fold and every figure the
  // stock projection wrote.
  std::map<std::string, int64_t> running;
  for (const v1::Event& e : log) {
    std::string sku;
    int64_t after = 0;
    bool has_after = false;
    if (e.has_stock_adjusted()) running[e.stock_adjusted().sku()] += e.stock_adjusted().delta();
    if (e.has_stock_adjustment_rejected()) {
      running[e.stock_adjustment_rejected().sku()] -= e.stock_adjustment_rejected().delta();
    }
    if (e.has_stock_decreased()) {
      sku = e.stock_decreased().sku();
      running[sku] -= e.stock_decreased().quantity();
      after = e.stock_decreased().available_after();
      has_after = true;
    }
    if (e.has_stock_released()) {
      sku = e.stock_released().sku();
      running[sku] += e.stock_released().quantity();
      after = e.stock_released().available_after();
      has_after = true;
    }
    if (!has_after) continue;
    report->Check(kStockNonNegative, after >= 0 && running[sku] >= 0,
                  absl::StrCat(sku, " at position ", e.position(), ": available_after ", after,
                               ", running fold ", running[sku]));
  }
}

void CheckCoupons(const std::vector<v1::Event>& log, const Replay& replay,
                  InvariantReport* report) {
  // Fold each campaign's decisions in log order (one campaign is decided
  // serially), checking each decision against the state it was made in.
  std::map<std::string, int64_t> issued;
  std::map<std::pair<std::string, std::string>, int64_t> held;  // code, user
  for (const v1::Event& e : log) {
    if (!e.has_coupon_issued() && !e.has_coupon_rejected()) continue;
    const std::string& code =
        e.has_coupon_issued() ? e.coupon_issued().code() : e.coupon_rejected().code();
    const std::string& user =
        e.has_coupon_issued() ? e.coupon_issued().user_id() : e.coupon_rejected().user_id();
    auto campaign = replay.campaigns.find(code);
    const Replay::CampaignRow spec =
        campaign == replay.campaigns.end() ? Replay::CampaignRow{} : campaign->second;
    const int64_t before = issued[code];
    const int64_t user_before = held[{code, user}];
    const std::string where = absl::StrCat(code, "/", user, " at position ", e.position(), ": ",
                                           before, " issued of ", spec.total_quantity, ", user holds ",
                                           user_before, " of ", spec.per_user_limit);
    if (e.has_coupon_issued()) {
      report->Check(kCouponLimits, before < spec.total_quantity && user_before < spec.per_user_limit,
                    absl::StrCat("issued beyond a limit: ", where));
      ++issued[code];
      ++held[{code, user}];
      continue;
    }
    switch (e.coupon_rejected().reason()) {
      case v1::COUPON_REJECT_REASON_SOLD_OUT:
        report->Check(kCouponLimits,
                      before >= spec.total_quantity && user_before < spec.per_user_limit,
                      absl::StrCat("SOLD_OUT while coupons remain or for a holder at the limit: ",
                                   where));
        break;
      case v1::COUPON_REJECT_REASON_LIMIT_REACHED:
        // Checked before the stock (coupon_projection.cc): a holder at the
        // limit is told so, sold out or not.
        report->Check(kCouponLimits, user_before >= spec.per_user_limit,
                      absl::StrCat("LIMIT_REACHED below the limit: ", where));
        break;
      default:
        report->Check(kCouponLimits, false,
                      absl::StrCat("rejected for reason ", e.coupon_rejected().reason(), ": ",
                                   where));
    }
  }
  for (const auto& [code, row] : replay.campaigns) {
    report->Check(kCouponLimits, row.issued <= row.total_quantity,
                  absl::StrCat(code, ": issued ", row.issued, " of ", row.total_quantity));
  }
}

}  // namespace

void InvariantReport::Check(const std::string& invariant, bool ok, const std::string& detail) {
  ++checks_;
  auto& counts = by_invariant_[invariant];
  ++counts.first;
  if (ok) return;
  ++counts.second;
  ++violation_count_;
  if (violations_.size() < kKeptViolations) {
    violations_.push_back(absl::StrCat("[", invariant, "] ", detail));
  }
}

Replay ReplayLog(const std::vector<v1::Event>& log) {
  Replay replay;
  for (const v1::Event& e : log) {
    switch (e.payload_case()) {
      case v1::Event::kStockAdjusted:
        replay.stock[e.stock_adjusted().sku()].available += e.stock_adjusted().delta();
        break;
      case v1::Event::kStockAdjustmentRejected:  // the adjustment was not applied
        replay.stock[e.stock_adjustment_rejected().sku()].available -=
            e.stock_adjustment_rejected().delta();
        break;
      case v1::Event::kStockDecreased: {
        Replay::StockRow& row = replay.stock[e.stock_decreased().sku()];
        row.available -= e.stock_decreased().quantity();
        row.reserved += e.stock_decreased().quantity();
        break;
      }
      case v1::Event::kStockReleased: {
        Replay::StockRow& row = replay.stock[e.stock_released().sku()];
        row.available += e.stock_released().quantity();
        row.reserved -= e.stock_released().quantity();
        break;
      }
      case v1::Event::kOrderPlaced:
        replay.orders.try_emplace(e.order_placed().order_id(), v1::ORDER_STATUS_PENDING);
        break;
      case v1::Event::kOrderConfirmed:
        replay.orders[e.order_confirmed().order_id()] = v1::ORDER_STATUS_CONFIRMED;
        break;
      case v1::Event::kOrderCancelled:
        replay.orders[e.order_cancelled().order_id()] = v1::ORDER_STATUS_CANCELLED;
        break;
      case v1::Event::kCampaignCreated: {
        Replay::CampaignRow& row = replay.campaigns[e.campaign_created().code()];
        row.total_quantity = e.campaign_created().total_quantity();
        // The contract: 0 means 1.
        row.per_user_limit = std::max<int64_t>(1, e.campaign_created().per_user_limit());
        break;
      }
      case v1::Event::kCouponRequested:
        replay.coupon_requests.try_emplace(e.coupon_requested().request_id(),
                                           v1::COUPON_REQUEST_STATUS_PENDING);
        break;
      case v1::Event::kCouponIssued:
        ++replay.campaigns[e.coupon_issued().code()].issued;
        replay.coupon_requests[e.coupon_issued().request_id()] = v1::COUPON_REQUEST_STATUS_ISSUED;
        break;
      case v1::Event::kCouponRejected:
        replay.coupon_requests[e.coupon_rejected().request_id()] =
            v1::COUPON_REQUEST_STATUS_REJECTED;
        break;
      default:
        break;
    }
  }
  return replay;
}

void CheckLog(const std::vector<CommandRecord>& records, const std::vector<v1::Event>& log,
              const Replay& replay, InvariantReport* report) {
  for (size_t i = 0; i < log.size(); ++i) {
    report->Check(kLogContiguous, log[i].position() == i + 1,
                  absl::StrCat("event ", i, " of ReadAll has position ", log[i].position()));
  }
  const LogIndex index = Index(log);
  CheckCommands(records, index, report);
  CheckSettled(records, index, replay, report);
  CheckStock(records, log, replay, report);
  CheckCoupons(log, replay, report);
}

void CheckProjections(const Replay& replay, const ReadModelSnapshot& snapshot,
                      InvariantReport* report) {
  for (const auto& [order_id, status] : replay.orders) {
    auto it = snapshot.orders.find(order_id);
    report->Check(kProjectionsReplay, it != snapshot.orders.end() && it->second.status() == status,
                  absl::StrCat("order ", order_id, ": GetOrder says ",
                               it == snapshot.orders.end()
                                   ? std::string("nothing")
                                   : v1::OrderStatus_Name(it->second.status()),
                               ", replay says ", v1::OrderStatus_Name(status)));
  }
  for (const auto& [sku, row] : replay.stock) {
    auto it = snapshot.stock.find(sku);
    const bool found = it != snapshot.stock.end();
    report->Check(kProjectionsReplay,
                  found && it->second.available() == row.available &&
                      it->second.reserved_total() == row.reserved,
                  absl::StrCat("stock ", sku, ": GetStock says ",
                               found ? absl::StrCat(it->second.available(), " available, ",
                                                    it->second.reserved_total(), " reserved")
                                     : "nothing",
                               "; replay says ", row.available, " available, ", row.reserved,
                               " reserved"));
    report->Check(kStockNonNegative, !found || it->second.available() >= 0,
                  absl::StrCat("GetStock ", sku, " available ", found ? it->second.available() : 0));
  }
  for (const auto& [code, row] : replay.campaigns) {
    auto it = snapshot.campaigns.find(code);
    const bool found = it != snapshot.campaigns.end();
    report->Check(kProjectionsReplay,
                  found && it->second.issued() == row.issued &&
                      it->second.total_quantity() == row.total_quantity &&
                      it->second.remaining() == row.total_quantity - row.issued,
                  absl::StrCat("campaign ", code, ": GetCampaign says ",
                               found ? absl::StrCat(it->second.issued(), " issued, ",
                                                    it->second.remaining(), " remaining of ",
                                                    it->second.total_quantity())
                                     : "nothing",
                               "; replay says ", row.issued, " issued of ", row.total_quantity));
  }
  for (const auto& [request_id, status] : replay.coupon_requests) {
    auto it = snapshot.coupon_requests.find(request_id);
    report->Check(kProjectionsReplay,
                  it != snapshot.coupon_requests.end() && it->second.status() == status,
                  absl::StrCat("coupon request ", request_id, ": GetCouponRequest says ",
                               it == snapshot.coupon_requests.end()
                                   ? std::string("nothing")
                                   : v1::CouponRequestStatus_Name(it->second.status()),
                               ", replay says ", v1::CouponRequestStatus_Name(status)));
  }
}

}  // namespace surge::crashloop
