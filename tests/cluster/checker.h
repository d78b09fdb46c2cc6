// The cluster invariant checker every cluster test ends with (issue 12):
// the union of all nodes' logs (plus, when given, the events read back from
// the Kafka topics, the cluster-wide history that also holds what a dead or
// removed node had relayed), the read models every node answers, and a
// replay of the union's decisions.
//
//   ClusterSnapshot snapshot = ...;            // see collect.h
//   ClusterReport report = CheckCluster(snapshot, acknowledged);
//   EXPECT_TRUE(report.ok()) << report.Summary();
//
// Decisions made twice (a handoff, a zombie) must be the same event: the
// same event_id with the same payload. The checker therefore unions events
// by event_id and counts decisions by event_id or by business key (the
// coupon request, the order line), never by copies.
//
// Pure functions over values, no I/O: checker_test.cc proves with synthetic
// event lists that each violation is caught. Not thread-safe.
#ifndef SURGE_TESTS_CLUSTER_CHECKER_H_
#define SURGE_TESTS_CLUSTER_CHECKER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "surge/v1/events.pb.h"
#include "surge/v1/surge.pb.h"

namespace surge::cluster_test {

// Invariant names, as they appear in reports.
inline constexpr char kOneEventOnePayload[] = "copies of one event_id carry one payload";
inline constexpr char kCouponDecidedOnce[] =
    "one decision per coupon request, one request per coupon";
inline constexpr char kCouponLimits[] = "issued <= total_quantity and <= per_user_limit";
inline constexpr char kStockNonNegative[] = "stock never negative";
inline constexpr char kStockOncePerLine[] = "stock taken and released at most once per order line";
inline constexpr char kOrderSettledOnce[] = "every order placed is settled exactly once";
inline constexpr char kCouponSettled[] = "every coupon request is decided";
inline constexpr char kAcknowledged[] = "every acknowledged command is decided";
inline constexpr char kReadModelsAgree[] = "read models identical on every node";
inline constexpr char kReplay[] = "read models == replay of the union of decisions";
// Checked only when the snapshot holds the Kafka topics: the relay publishes
// every event of every log (the log is the outbox).
inline constexpr char kRelayed[] = "every event of a node's log is in Kafka";

// What one node answered: its whole log and its read models for the keys
// seen anywhere in the cluster (absent key = the node answered NOT_FOUND).
struct NodeSnapshot {
  std::string node;  // label, e.g. "n1"
  std::vector<v1::Event> log;
  std::map<std::string, v1::Order> orders;                   // by order id
  std::map<std::string, v1::Stock> stock;                    // by sku
  std::map<std::string, v1::Campaign> campaigns;             // by code
  std::map<std::string, v1::CouponRequest> coupon_requests;  // by request id
  // Positions of `log` that Kafka no longer holds because the broker's
  // retention dropped them (the dev broker keeps ~5 MiB a partition): they
  // were relayed before newer events of this log that Kafka still holds in
  // the same partition. Not counted as unrelayed.
  std::set<uint64_t> dropped_by_retention;
};

struct ClusterSnapshot {
  std::vector<NodeSnapshot> nodes;
  // Events read back from the surge.orders/stock/coupons topics; empty when
  // not read. Unioned with the logs like another node's log (no read models).
  std::vector<v1::Event> kafka;
};

// What clients were told: acknowledged PlaceOrder answers (order ids) and
// acknowledged RequestCoupon calls (request ids). Each must be decided.
struct Acknowledged {
  std::set<std::string> order_ids;
  std::set<std::string> coupon_request_ids;
};

// The union of the sources: one event per event_id, and the keys it names.
struct Union {
  std::map<std::string, v1::Event> by_id;                // event_id -> first copy seen
  std::map<std::string, std::set<std::string>> sources;  // event_id -> sources holding it
  std::set<std::string> order_ids;
  std::set<std::string> skus;
  std::set<std::string> codes;
  std::set<std::string> coupon_request_ids;
};

// Events without an event_id are keyed "<source>@<position>".
Union UnionOf(const ClusterSnapshot& snapshot);

// The decisions of the union, folded: what every node's read models must say.
struct Expected {
  struct StockRow {
    int64_t restocked = 0;  // distinct adjustments applied
    int64_t decreased = 0;  // distinct order lines decreased
    int64_t released = 0;   // distinct order lines released
    int64_t available() const { return restocked - decreased + released; }
    int64_t reserved() const { return decreased - released; }
  };
  struct CampaignRow {
    bool created = false;
    int64_t total_quantity = 0;
    int64_t per_user_limit = 1;
    std::set<std::string> issued_requests;  // distinct request ids issued
  };
  struct CouponDecision {
    v1::CouponRequestStatus status = v1::COUPON_REQUEST_STATUS_PENDING;
    std::string coupon_id;
    v1::CouponRejectReason reason = v1::COUPON_REJECT_REASON_UNSPECIFIED;
  };
  std::map<std::string, StockRow> stock;                  // by sku
  std::map<std::string, CampaignRow> campaigns;           // by code
  std::map<std::string, v1::OrderStatus> orders;          // by order id (PENDING if undecided)
  std::map<std::string, CouponDecision> coupon_requests;  // by request id
};

class ClusterReport {
 public:
  void Check(const std::string& invariant, bool ok, const std::string& detail);

  bool ok() const { return violation_count_ == 0; }
  int64_t checks() const { return checks_; }
  int64_t violation_count() const { return violation_count_; }
  // invariant -> number of violations
  const std::map<std::string, int64_t>& violations_by_invariant() const { return by_invariant_; }
  // At most kKeptViolations, in the order found.
  const std::vector<std::string>& violations() const { return violations_; }
  bool Violated(const std::string& invariant) const {
    auto it = by_invariant_.find(invariant);
    return it != by_invariant_.end() && it->second > 0;
  }
  // One paragraph: counts, then the kept violations, one per line.
  std::string Summary() const;

  static constexpr size_t kKeptViolations = 60;

 private:
  int64_t checks_ = 0;
  int64_t violation_count_ = 0;
  std::vector<std::string> violations_;
  std::map<std::string, int64_t> by_invariant_;
};

// Every invariant of the cluster over `snapshot`; `expected` (optional) gets
// the folded decisions.
ClusterReport CheckCluster(const ClusterSnapshot& snapshot, const Acknowledged& acknowledged,
                           Expected* expected = nullptr);

}  // namespace surge::cluster_test

#endif  // SURGE_TESTS_CLUSTER_CHECKER_H_
