// The cluster checker over synthetic histories: a consistent two-node
// history (with the copies a handoff leaves: the same decision, same
// event_id, in two logs and in Kafka) passes, and each violation the
// cluster tests rely on is caught and named.
#include "tests/cluster/checker.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace surge::cluster_test {
namespace {

v1::Event Ev(const std::string& id) {
  v1::Event e;
  e.set_event_id(id);
  return e;
}

v1::Event Adjusted(const std::string& id, const std::string& sku, int64_t delta) {
  v1::Event e = Ev(id);
  e.mutable_stock_adjusted()->set_sku(sku);
  e.mutable_stock_adjusted()->set_delta(delta);
  return e;
}

v1::Event Placed(const std::string& id, const std::string& order, const std::string& user,
                 std::vector<std::pair<std::string, int64_t>> lines) {
  v1::Event e = Ev(id);
  e.mutable_order_placed()->set_order_id(order);
  e.mutable_order_placed()->set_user_id(user);
  for (const auto& [sku, q] : lines) {
    v1::OrderLine* l = e.mutable_order_placed()->add_lines();
    l->set_sku(sku);
    l->set_quantity(q);
  }
  return e;
}

v1::Event Decreased(const std::string& id, const std::string& order, int32_t line,
                    const std::string& sku, int64_t q, int64_t after) {
  v1::Event e = Ev(id);
  auto* d = e.mutable_stock_decreased();
  d->set_order_id(order);
  d->set_line_index(line);
  d->set_sku(sku);
  d->set_quantity(q);
  d->set_available_after(after);
  return e;
}

v1::Event Failed(const std::string& id, const std::string& order, int32_t line,
                 const std::string& sku, int64_t q, int64_t available) {
  v1::Event e = Ev(id);
  auto* f = e.mutable_stock_decrease_failed();
  f->set_order_id(order);
  f->set_line_index(line);
  f->set_sku(sku);
  f->set_quantity(q);
  f->set_available(available);
  return e;
}

v1::Event Released(const std::string& id, const std::string& order, int32_t line,
                   const std::string& sku, int64_t q, int64_t after) {
  v1::Event e = Ev(id);
  auto* r = e.mutable_stock_released();
  r->set_order_id(order);
  r->set_line_index(line);
  r->set_sku(sku);
  r->set_quantity(q);
  r->set_available_after(after);
  return e;
}

v1::Event Confirmed(const std::string& id, const std::string& order) {
  v1::Event e = Ev(id);
  e.mutable_order_confirmed()->set_order_id(order);
  return e;
}

v1::Event Cancelled(const std::string& id, const std::string& order) {
  v1::Event e = Ev(id);
  e.mutable_order_cancelled()->set_order_id(order);
  e.mutable_order_cancelled()->set_reason("insufficient stock");
  return e;
}

v1::Event Created(const std::string& id, const std::string& code, int64_t q, int64_t limit) {
  v1::Event e = Ev(id);
  e.mutable_campaign_created()->set_code(code);
  e.mutable_campaign_created()->set_total_quantity(q);
  e.mutable_campaign_created()->set_per_user_limit(limit);
  return e;
}

v1::Event Requested(const std::string& id, const std::string& rid, const std::string& user,
                    const std::string& code) {
  v1::Event e = Ev(id);
  e.mutable_coupon_requested()->set_request_id(rid);
  e.mutable_coupon_requested()->set_user_id(user);
  e.mutable_coupon_requested()->set_code(code);
  return e;
}

v1::Event Issued(const std::string& id, const std::string& rid, const std::string& user,
                 const std::string& code, const std::string& coupon, int64_t remaining) {
  v1::Event e = Ev(id);
  auto* i = e.mutable_coupon_issued();
  i->set_request_id(rid);
  i->set_user_id(user);
  i->set_code(code);
  i->set_coupon_id(coupon);
  i->set_remaining(remaining);
  return e;
}

v1::Event Rejected(const std::string& id, const std::string& rid, const std::string& user,
                   const std::string& code, v1::CouponRejectReason reason) {
  v1::Event e = Ev(id);
  auto* r = e.mutable_coupon_rejected();
  r->set_request_id(rid);
  r->set_user_id(user);
  r->set_code(code);
  r->set_reason(reason);
  return e;
}

v1::Order OrderRow(const std::string& id, const std::string& user, const std::string& sku,
                   int64_t q, v1::OrderStatus status, const std::string& reason = "") {
  v1::Order o;
  o.set_order_id(id);
  o.set_user_id(user);
  v1::OrderLine* l = o.add_lines();
  l->set_sku(sku);
  l->set_quantity(q);
  o.set_status(status);
  o.set_reason(reason);
  return o;
}

v1::Stock StockRow(const std::string& sku, int64_t available, int64_t reserved) {
  v1::Stock s;
  s.set_sku(sku);
  s.set_available(available);
  s.set_reserved_total(reserved);
  return s;
}

v1::Campaign CampaignRow(const std::string& code, int64_t total, int64_t issued) {
  v1::Campaign c;
  c.set_code(code);
  c.set_total_quantity(total);
  c.set_issued(issued);
  c.set_remaining(total - issued);
  c.set_per_user_limit(1);
  return c;
}

v1::CouponRequest RequestRow(const std::string& rid, const std::string& user,
                             v1::CouponRequestStatus status, const std::string& coupon,
                             v1::CouponRejectReason reason = v1::COUPON_REJECT_REASON_UNSPECIFIED) {
  v1::CouponRequest r;
  r.set_request_id(rid);
  r.set_user_id(user);
  r.set_code("C");
  r.set_status(status);
  r.set_coupon_id(coupon);
  r.set_reason(reason);
  return r;
}

// Two nodes, stock "book" 10, o1 (5) confirmed, o2 (6) cancelled, campaign
// C of 2: r1 (ann) and r2 (bob) issued, r3 (cat) sold out. The decision
// d:o1:0 was made twice (a handoff): the same event in both logs.
ClusterSnapshot Baseline() {
  ClusterSnapshot s;
  NodeSnapshot n1{.node = "n1"};
  n1.log = {Adjusted("n1:1", "book", 10),
            Created("n1:2", "C", 2, 1),
            Placed("n1:3", "o1", "ann", {{"book", 5}}),
            Requested("n1:4", "r1", "ann", "C"),
            Decreased("d:o1:0", "o1", 0, "book", 5, 5),
            Issued("i:r1", "r1", "ann", "C", "cp1", 1)};
  NodeSnapshot n2{.node = "n2"};
  n2.log = {Placed("n2:1", "o2", "bob", {{"book", 6}}),
            Requested("n2:2", "r2", "bob", "C"),
            Requested("n2:3", "r3", "cat", "C"),
            Decreased("d:o1:0", "o1", 0, "book", 5, 5),
            Failed("f:o2:0", "o2", 0, "book", 6, 5),
            Cancelled("c:o2", "o2"),
            Confirmed("c:o1", "o1"),
            Issued("i:r2", "r2", "bob", "C", "cp2", 0),
            Rejected("x:r3", "r3", "cat", "C", v1::COUPON_REJECT_REASON_SOLD_OUT)};
  for (NodeSnapshot* n : {&n1, &n2}) {
    n->orders["o1"] = OrderRow("o1", "ann", "book", 5, v1::ORDER_STATUS_CONFIRMED);
    n->orders["o2"] =
        OrderRow("o2", "bob", "book", 6, v1::ORDER_STATUS_CANCELLED, "insufficient stock");
    n->stock["book"] = StockRow("book", 5, 5);
    n->campaigns["C"] = CampaignRow("C", 2, 2);
    n->coupon_requests["r1"] = RequestRow("r1", "ann", v1::COUPON_REQUEST_STATUS_ISSUED, "cp1");
    n->coupon_requests["r2"] = RequestRow("r2", "bob", v1::COUPON_REQUEST_STATUS_ISSUED, "cp2");
    n->coupon_requests["r3"] = RequestRow("r3", "cat", v1::COUPON_REQUEST_STATUS_REJECTED, "",
                                          v1::COUPON_REJECT_REASON_SOLD_OUT);
  }
  s.nodes = {n1, n2};
  for (const NodeSnapshot& n : s.nodes) {
    for (const v1::Event& e : n.log) s.kafka.push_back(e);
  }
  return s;
}

Acknowledged BaselineAcks() {
  return Acknowledged{.order_ids = {"o1", "o2"}, .coupon_request_ids = {"r1", "r2", "r3"}};
}

NodeSnapshot& Node(ClusterSnapshot& s, int i) { return s.nodes[static_cast<size_t>(i)]; }

// Everything on both nodes (and Kafka).
void AddEverywhere(ClusterSnapshot& s, const v1::Event& e) {
  Node(s, 1).log.push_back(e);
  s.kafka.push_back(e);
}

TEST(ClusterCheckerTest, ConsistentHistoryWithHandoffCopiesPasses) {
  Expected expected;
  ClusterReport report = CheckCluster(Baseline(), BaselineAcks(), &expected);
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_GT(report.checks(), 30);
  EXPECT_EQ(expected.stock["book"].available(), 5);
  EXPECT_EQ(expected.campaigns["C"].issued_requests.size(), 2u);
  EXPECT_EQ(expected.orders["o1"], v1::ORDER_STATUS_CONFIRMED);
}

TEST(ClusterCheckerTest, KafkaCompletesWhatALostNodeHadRelayed) {
  // n1's disk is gone: only Kafka still holds its events; still consistent.
  ClusterSnapshot s = Baseline();
  s.nodes.erase(s.nodes.begin());
  EXPECT_TRUE(CheckCluster(s, BaselineAcks()).ok()) << CheckCluster(s, BaselineAcks()).Summary();
  // Without Kafka, the restock and o1's placement are missing.
  s.kafka.clear();
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kReplay)) << report.Summary();
  EXPECT_TRUE(report.Violated(kOrderSettledOnce)) << report.Summary();
}

TEST(ClusterCheckerTest, EventsALiveNodeNeverRelayed) {
  ClusterSnapshot s = Baseline();
  s.kafka.pop_back();  // n2's last decision never reached Kafka
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kRelayed)) << report.Summary();
  EXPECT_NE(report.Summary().find("x:r3"), std::string::npos) << report.Summary();
  // Without the topics, nothing is said about the relay.
  s.kafka.clear();
  EXPECT_FALSE(CheckCluster(s, BaselineAcks()).Violated(kRelayed));
}

TEST(ClusterCheckerTest, EventsTheBrokersRetentionDroppedAreNotUnrelayed) {
  ClusterSnapshot s = Baseline();
  const v1::Event gone = s.kafka.back();
  s.kafka.pop_back();
  // The harness found it relayed before newer events Kafka still holds.
  for (NodeSnapshot& node : s.nodes) {
    for (const v1::Event& e : node.log) {
      if (e.event_id() == gone.event_id()) node.dropped_by_retention.insert(e.position());
    }
  }
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_FALSE(report.Violated(kRelayed)) << report.Summary();
}

TEST(ClusterCheckerTest, SameEventIdWithAnotherPayload) {
  ClusterSnapshot s = Baseline();
  // A zombie's stale copy of d:o1:0 made on other state.
  Node(s, 1).log[3] = Decreased("d:o1:0", "o1", 0, "book", 5, 0);
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kOneEventOnePayload)) << report.Summary();
}

TEST(ClusterCheckerTest, ReusedEventIdIsCaughtAndBothEventsStillCount) {
  // A node that lost its disk and came back under the same node id reuses
  // "<node>:<position>" for a new command, while Kafka still holds the old one.
  ClusterSnapshot s = Baseline();
  Node(s, 1).log.push_back(Placed("n2:1", "o5", "ivy", {{"book", 1}}));
  Expected expected;
  ClusterReport report = CheckCluster(s, BaselineAcks(), &expected);
  EXPECT_TRUE(report.Violated(kOneEventOnePayload)) << report.Summary();
  EXPECT_TRUE(expected.orders.contains("o2")) << "the first event under the id";
  EXPECT_TRUE(expected.orders.contains("o5")) << "the second event under the id";
  EXPECT_NE(report.Summary().find("ivy"), std::string::npos) << report.Summary();
}

TEST(ClusterCheckerTest, CouponRequestIssuedTwoCouponIds) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Issued("i:r1:again", "r1", "ann", "C", "cp9", 0));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kCouponDecidedOnce)) << report.Summary();
}

TEST(ClusterCheckerTest, SameDecisionUnderAnotherEventIdCountsOnce) {
  // The authority re-announcing the first decision for a duplicate request:
  // same request, same coupon: one decision by business key.
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Issued("i:r1:dup", "r1", "ann", "C", "cp1", 1));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.ok()) << report.Summary();
}

TEST(ClusterCheckerTest, CouponIdIssuedToTwoRequests) {
  ClusterSnapshot s = Baseline();
  for (v1::Event& e : Node(s, 1).log) {
    if (e.event_id() == "i:r2") e.mutable_coupon_issued()->set_coupon_id("cp1");
  }
  s.kafka.clear();
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kCouponDecidedOnce)) << report.Summary();
}

TEST(ClusterCheckerTest, CouponRequestBothIssuedAndRejected) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Rejected("x:r1", "r1", "ann", "C", v1::COUPON_REJECT_REASON_SOLD_OUT));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kCouponDecidedOnce)) << report.Summary();
}

TEST(ClusterCheckerTest, MoreIssuedThanTheCampaignHolds) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Requested("n2:9", "r4", "dan", "C"));
  AddEverywhere(s, Issued("i:r4", "r4", "dan", "C", "cp4", -1));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kCouponLimits)) << report.Summary();
}

TEST(ClusterCheckerTest, UserOverThePerUserLimit) {
  ClusterSnapshot s = Baseline();
  // r2 was bob's; make it ann's second coupon.
  for (NodeSnapshot& n : s.nodes) {
    for (v1::Event& e : n.log) {
      if (e.has_coupon_issued() && e.coupon_issued().request_id() == "r2") {
        e.mutable_coupon_issued()->set_user_id("ann");
      }
    }
  }
  s.kafka.clear();
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kCouponLimits)) << report.Summary();
}

TEST(ClusterCheckerTest, SoldOutWhileCouponsRemain) {
  ClusterSnapshot s = Baseline();
  for (NodeSnapshot& n : s.nodes) {
    for (v1::Event& e : n.log) {
      if (e.has_campaign_created()) e.mutable_campaign_created()->set_total_quantity(3);
    }
    n.campaigns["C"] = CampaignRow("C", 3, 2);
  }
  s.kafka.clear();
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kCouponLimits)) << report.Summary();
}

TEST(ClusterCheckerTest, UnknownCampaignForACreatedCampaign) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Requested("n2:9", "r5", "eve", "C"));
  AddEverywhere(s, Rejected("x:r5", "r5", "eve", "C", v1::COUPON_REJECT_REASON_UNKNOWN_CAMPAIGN));
  for (NodeSnapshot& n : s.nodes) {
    n.coupon_requests["r5"] = RequestRow("r5", "eve", v1::COUPON_REQUEST_STATUS_REJECTED, "",
                                         v1::COUPON_REJECT_REASON_UNKNOWN_CAMPAIGN);
  }
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kCouponLimits)) << report.Summary();
}

TEST(ClusterCheckerTest, GetCampaignDisagreesWithTheDecisions) {
  ClusterSnapshot s = Baseline();
  Node(s, 1).campaigns["C"] = CampaignRow("C", 2, 1);
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kReplay)) << report.Summary();
  EXPECT_TRUE(report.Violated(kReadModelsAgree)) << report.Summary();
}

TEST(ClusterCheckerTest, UndecidedCouponRequest) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Requested("n2:9", "r6", "fay", "C"));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kCouponSettled)) << report.Summary();
}

TEST(ClusterCheckerTest, AcknowledgedCommandsNowhereOrUndecided) {
  ClusterSnapshot s = Baseline();
  Acknowledged acks = BaselineAcks();
  acks.coupon_request_ids.insert("r-lost");
  acks.order_ids.insert("o-lost");
  ClusterReport report = CheckCluster(s, acks);
  EXPECT_TRUE(report.Violated(kAcknowledged)) << report.Summary();
  EXPECT_EQ(report.violations_by_invariant().at(kAcknowledged), 2) << report.Summary();
}

TEST(ClusterCheckerTest, NegativeStockInADecisionAndInARead) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Released("r:o9:0", "o9", 0, "pen", 1, -1));
  Node(s, 0).stock["book"] = StockRow("book", -1, 5);
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kStockNonNegative)) << report.Summary();
  EXPECT_GE(report.violations_by_invariant().at(kStockNonNegative), 2) << report.Summary();
}

TEST(ClusterCheckerTest, OneOrderLineDecreasedTwiceOnDifferentState) {
  // A second decision for the same line made on other state (a zombie that
  // did not restore): another event id and another available_after.
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Decreased("d:o1:0:zombie", "o1", 0, "book", 5, 0));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kStockOncePerLine)) << report.Summary();
}

TEST(ClusterCheckerTest, LineBothDecreasedAndFailed) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Failed("f:o1:0", "o1", 0, "book", 5, 0));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kStockOncePerLine)) << report.Summary();
  EXPECT_TRUE(report.Violated(kOrderSettledOnce))
      << report.Summary();  // confirmed with a failed line
}

TEST(ClusterCheckerTest, OrderSettledTwiceUnderDistinctEventIds) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Confirmed("c:o1:second", "o1"));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kOrderSettledOnce)) << report.Summary();
}

TEST(ClusterCheckerTest, OrderConfirmedAndCancelled) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Cancelled("c:o1:cancel", "o1"));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kOrderSettledOnce)) << report.Summary();
}

TEST(ClusterCheckerTest, OrderNeverSettled) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Placed("n2:8", "o3", "gus", {{"book", 1}}));
  for (NodeSnapshot& n : s.nodes) {
    n.orders["o3"] = OrderRow("o3", "gus", "book", 1, v1::ORDER_STATUS_PENDING);
  }
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kOrderSettledOnce)) << report.Summary();
  // The message says where it got stuck: placed, line 0 never decided.
  EXPECT_NE(report.Summary().find("no stock decision anywhere"), std::string::npos)
      << report.Summary();
}

TEST(ClusterCheckerTest, CancelledOrderKeepsItsStock) {
  // o4: two lines, the first decreased, the second failed, cancelled, but
  // the first line never released.
  ClusterSnapshot s = Baseline();
  v1::Event placed = Placed("n2:10", "o4", "hal", {{"book", 1}, {"pen", 1}});
  AddEverywhere(s, placed);
  AddEverywhere(s, Decreased("d:o4:0", "o4", 0, "book", 1, 4));
  AddEverywhere(s, Failed("f:o4:1", "o4", 1, "pen", 1, 0));
  AddEverywhere(s, Cancelled("c:o4", "o4"));
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kOrderSettledOnce)) << report.Summary();
}

TEST(ClusterCheckerTest, ReadModelsDisagreeBetweenNodes) {
  ClusterSnapshot s = Baseline();
  Node(s, 1).orders["o1"].set_status(v1::ORDER_STATUS_PENDING);
  Node(s, 1).coupon_requests.erase("r3");
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kReadModelsAgree)) << report.Summary();
  EXPECT_EQ(report.violations_by_invariant().at(kReadModelsAgree), 2) << report.Summary();
}

TEST(ClusterCheckerTest, StockReadModelAgreesButDisagreesWithTheReplay) {
  // Both nodes applied o1's decrease twice (the same decision counted by copy).
  ClusterSnapshot s = Baseline();
  for (NodeSnapshot& n : s.nodes) n.stock["book"] = StockRow("book", 0, 10);
  ClusterReport report = CheckCluster(s, BaselineAcks());
  EXPECT_TRUE(report.Violated(kReplay)) << report.Summary();
  EXPECT_FALSE(report.Violated(kReadModelsAgree)) << report.Summary();
}

TEST(ClusterCheckerTest, SummaryNamesInvariantAndDetail) {
  ClusterSnapshot s = Baseline();
  AddEverywhere(s, Confirmed("c:o1:second", "o1"));
  const std::string summary = CheckCluster(s, BaselineAcks()).Summary();
  EXPECT_NE(summary.find(kOrderSettledOnce), std::string::npos) << summary;
  EXPECT_NE(summary.find("c:o1:second"), std::string::npos) << summary;
}

}  // namespace
}  // namespace surge::cluster_test
