// The crash loop's checks must catch what they claim to: each test breaks
// one invariant in a small hand-made history and expects exactly that
// invariant to report it, and a consistent history to pass.
#include "tests/crashloop/invariants.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace surge::crashloop {
namespace {

// A small consistent history: 5 units of "sku", one order of 2 (confirmed),
// a campaign of 1 coupon (limit 1) and one issued coupon.
class History {
 public:
  History() {
    Restock("r1", "sku", 5);
    Campaign("c1", "CODE", 1, 1);
    Order("o1", "order-1", "sku", 2, /*confirm=*/true);
    Coupon("q1", "alice", "CODE", /*issue=*/true);
  }

  v1::Event& Append(const std::string& request_id = "") {
    v1::Event& e = log.emplace_back();
    e.set_position(log.size());
    e.set_request_id(request_id);
    return e;
  }

  CommandRecord& Record(CommandKind kind, const std::string& request_id) {
    CommandRecord& r = records.emplace_back();
    r.command.kind = kind;
    r.command.request_id = request_id;
    r.acknowledged = true;
    r.attempts = 1;
    return r;
  }

  void Restock(const std::string& request_id, const std::string& sku, int64_t delta) {
    v1::Event& e = Append(request_id);
    e.mutable_stock_adjusted()->set_sku(sku);
    e.mutable_stock_adjusted()->set_delta(delta);
    CommandRecord& r = Record(CommandKind::kAdjustStock, request_id);
    r.command.sku = sku;
    r.command.delta = delta;
    r.position = e.position();
  }

  void Campaign(const std::string& request_id, const std::string& code, int64_t total,
                int64_t limit) {
    v1::Event& e = Append(request_id);
    e.mutable_campaign_created()->set_code(code);
    e.mutable_campaign_created()->set_total_quantity(total);
    e.mutable_campaign_created()->set_per_user_limit(limit);
    CommandRecord& r = Record(CommandKind::kCreateCampaign, request_id);
    r.command.code = code;
    r.position = e.position();
  }

  void Order(const std::string& request_id, const std::string& order_id, const std::string& sku,
             int64_t quantity, bool confirm) {
    v1::Event& placed = Append(request_id);
    placed.mutable_order_placed()->set_order_id(order_id);
    v1::OrderLine* line = placed.mutable_order_placed()->add_lines();
    line->set_sku(sku);
    line->set_quantity(quantity);
    CommandRecord& r = Record(CommandKind::kPlaceOrder, request_id);
    r.command.lines = {{sku, quantity}};
    r.order_id = order_id;
    r.position = placed.position();
    if (confirm) {
      v1::StockDecreased* d = Append().mutable_stock_decreased();
      d->set_order_id(order_id);
      d->set_sku(sku);
      d->set_quantity(quantity);
      d->set_available_after(3);
      Append().mutable_order_confirmed()->set_order_id(order_id);
    } else {
      v1::StockDecreaseFailed* f = Append().mutable_stock_decrease_failed();
      f->set_order_id(order_id);
      f->set_sku(sku);
      f->set_quantity(quantity);
      Append().mutable_order_cancelled()->set_order_id(order_id);
    }
  }

  void Coupon(const std::string& request_id, const std::string& user, const std::string& code,
              bool issue) {
    v1::Event& e = Append(request_id);
    e.mutable_coupon_requested()->set_request_id(request_id);
    e.mutable_coupon_requested()->set_user_id(user);
    e.mutable_coupon_requested()->set_code(code);
    CommandRecord& r = Record(CommandKind::kRequestCoupon, request_id);
    r.command.user_id = user;
    r.command.code = code;
    r.position = e.position();
    if (issue) {
      v1::CouponIssued* i = Append().mutable_coupon_issued();
      i->set_request_id(request_id);
      i->set_user_id(user);
      i->set_code(code);
    } else {
      v1::CouponRejected* j = Append().mutable_coupon_rejected();
      j->set_request_id(request_id);
      j->set_user_id(user);
      j->set_code(code);
      j->set_reason(v1::COUPON_REJECT_REASON_SOLD_OUT);
    }
  }

  // What a correct server would answer: the replay itself.
  ReadModelSnapshot FaithfulSnapshot() const {
    const Replay replay = ReplayLog(log);
    ReadModelSnapshot s;
    for (const auto& [id, status] : replay.orders) s.orders[id].set_status(status);
    for (const auto& [sku, row] : replay.stock) {
      s.stock[sku].set_available(row.available);
      s.stock[sku].set_reserved_total(row.reserved);
    }
    for (const auto& [code, row] : replay.campaigns) {
      s.campaigns[code].set_total_quantity(row.total_quantity);
      s.campaigns[code].set_issued(row.issued);
      s.campaigns[code].set_remaining(row.total_quantity - row.issued);
    }
    for (const auto& [id, status] : replay.coupon_requests) s.coupon_requests[id].set_status(status);
    return s;
  }

  InvariantReport Check() const { return Check(FaithfulSnapshot()); }
  InvariantReport Check(const ReadModelSnapshot& snapshot) const {
    InvariantReport report;
    const Replay replay = ReplayLog(log);
    CheckLog(records, log, replay, &report);
    CheckProjections(replay, snapshot, &report);
    return report;
  }

  std::vector<v1::Event> log;
  std::vector<CommandRecord> records;
};

// The invariants that reported a violation.
std::set<std::string> Violated(const InvariantReport& report) {
  std::set<std::string> names;
  for (const auto& [name, counts] : report.by_invariant()) {
    if (counts.second > 0) names.insert(name);
  }
  return names;
}

TEST(InvariantsTest, ConsistentHistoryPasses) {
  History h;
  h.Order("o2", "order-2", "sku", 9, /*confirm=*/false);
  h.Coupon("q2", "bob", "CODE", /*issue=*/false);
  const InvariantReport report = h.Check();
  EXPECT_TRUE(report.ok()) << ::testing::PrintToString(report.violations());
  EXPECT_GT(report.checks(), 20);
  const Replay replay = ReplayLog(h.log);
  EXPECT_EQ(replay.stock.at("sku").available, 3);
  EXPECT_EQ(replay.stock.at("sku").reserved, 2);
  EXPECT_EQ(replay.orders.at("order-2"), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(replay.campaigns.at("CODE").issued, 1);
}

TEST(InvariantsTest, AcknowledgedCommandMissingFromLogIsCaught) {
  History h;
  CommandRecord& lost = h.Record(CommandKind::kAdjustStock, "r-lost");
  lost.command.sku = "sku";
  lost.command.delta = 1;
  EXPECT_TRUE(Violated(h.Check()).contains(kAckedOnce));
}

TEST(InvariantsTest, CommandAppliedTwiceIsCaught) {
  History h;
  v1::Event& again = h.Append("r1");
  again.mutable_stock_adjusted()->set_sku("sku");
  again.mutable_stock_adjusted()->set_delta(5);
  const auto violated = Violated(h.Check());
  EXPECT_TRUE(violated.contains(kAckedOnce));
  EXPECT_TRUE(violated.contains(kStockConservation));
}

TEST(InvariantsTest, CommandTheClientNeverSentIsCaught) {
  History h;
  h.Append("stranger").mutable_stock_adjusted()->set_sku("other");
  EXPECT_TRUE(Violated(h.Check()).contains(kNoPhantom));
}

TEST(InvariantsTest, UnresolvedOrRejectedCommandIsCaught) {
  History h;
  h.records.front().acknowledged = false;
  EXPECT_TRUE(Violated(h.Check()).contains(kAllResolved));
}

TEST(InvariantsTest, UnsettledOrderIsCaught) {
  History h;
  // Drop the coupon flow (decision, request, record), then OrderConfirmed.
  h.log.pop_back();
  h.log.pop_back();
  h.records.pop_back();
  h.log.pop_back();
  EXPECT_TRUE(Violated(h.Check()).contains(kSettled));
}

TEST(InvariantsTest, CancelledOrderKeepingItsStockIsCaught) {
  History h;
  // A two-line order: line 0 decreased, line 1 failed, cancelled, but line 0
  // never given back.
  v1::Event& placed = h.Append("o3");
  placed.mutable_order_placed()->set_order_id("order-3");
  for (int i = 0; i < 2; ++i) {
    v1::OrderLine* line = placed.mutable_order_placed()->add_lines();
    line->set_sku("sku");
    line->set_quantity(2);
  }
  CommandRecord& r = h.Record(CommandKind::kPlaceOrder, "o3");
  r.command.lines = {{"sku", 2}, {"sku", 2}};
  r.order_id = "order-3";
  r.position = placed.position();
  v1::StockDecreased* d = h.Append().mutable_stock_decreased();
  d->set_order_id("order-3");
  d->set_sku("sku");
  d->set_quantity(2);
  d->set_available_after(1);
  v1::StockDecreaseFailed* f = h.Append().mutable_stock_decrease_failed();
  f->set_order_id("order-3");
  f->set_line_index(1);
  h.Append().mutable_order_cancelled()->set_order_id("order-3");
  const auto violated = Violated(h.Check());
  EXPECT_TRUE(violated.contains(kSettled));
  EXPECT_TRUE(violated.contains(kStockConservation));
}

TEST(InvariantsTest, NegativeStockIsCaught) {
  History h;
  v1::StockDecreased* d = h.Append().mutable_stock_decreased();
  d->set_order_id("order-1");
  d->set_line_index(7);
  d->set_sku("sku");
  d->set_quantity(10);
  d->set_available_after(-7);
  EXPECT_TRUE(Violated(h.Check()).contains(kStockNonNegative));
}

TEST(InvariantsTest, CouponBeyondPerUserLimitIsCaught) {
  History h;
  h.Campaign("c2", "BIG", 10, 1);
  h.Coupon("q2", "alice", "BIG", true);
  h.Coupon("q3", "alice", "BIG", true);
  EXPECT_TRUE(Violated(h.Check()).contains(kCouponLimits));
}

TEST(InvariantsTest, CouponBeyondQuantityIsCaught) {
  History h;
  h.Coupon("q2", "bob", "CODE", true);  // CODE has 1 coupon, alice holds it
  EXPECT_TRUE(Violated(h.Check()).contains(kCouponLimits));
}

TEST(InvariantsTest, SoldOutWhileCouponsRemainIsCaught) {
  History h;
  h.Campaign("c2", "BIG", 10, 1);
  h.Coupon("q2", "bob", "BIG", false);  // rejected SOLD_OUT with 10 left
  EXPECT_TRUE(Violated(h.Check()).contains(kCouponLimits));
}

TEST(InvariantsTest, ReadModelDifferentFromReplayIsCaught) {
  History h;
  ReadModelSnapshot snapshot = h.FaithfulSnapshot();
  snapshot.stock["sku"].set_available(4);  // a release applied twice, say
  EXPECT_EQ(Violated(h.Check(snapshot)), std::set<std::string>{kProjectionsReplay});
  snapshot = h.FaithfulSnapshot();
  snapshot.orders["order-1"].set_status(v1::ORDER_STATUS_PENDING);
  EXPECT_EQ(Violated(h.Check(snapshot)), std::set<std::string>{kProjectionsReplay});
  snapshot = h.FaithfulSnapshot();
  snapshot.campaigns.erase("CODE");
  EXPECT_EQ(Violated(h.Check(snapshot)), std::set<std::string>{kProjectionsReplay});
}

TEST(InvariantsTest, GapInLogPositionsIsCaught) {
  History h;
  h.log.back().set_position(h.log.size() + 1);
  EXPECT_TRUE(Violated(h.Check()).contains(kLogContiguous));
}

}  // namespace
}  // namespace surge::crashloop
