// The crash loop's verdict: every invariant of ARCHITECTURE.md §2, checked from the
// client's own records, the log (ReadAll) and the read models the server
// answers.
//
//   Replay replay = ReplayLog(log);
//   InvariantReport report;
//   CheckLog(records, log, options, replay, &report);
//   CheckProjections(replay, snapshot, &report);
//   if (!report.ok()) ...
//
// Pure functions over values: no I/O, so the checks themselves are unit
// tested with hand-made logs (invariants_test.cc). Not thread-safe.
#ifndef SURGE_TESTS_CRASHLOOP_INVARIANTS_H_
#define SURGE_TESTS_CRASHLOOP_INVARIANTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "surge/v1/events.pb.h"
#include "surge/v1/surge.pb.h"
#include "tests/crashloop/workload.h"

namespace surge::crashloop {

// Invariant names, as they appear in the summary.
inline constexpr char kAllResolved[] = "every command answered definitively";
inline constexpr char kAckedOnce[] = "acknowledged command in the log exactly once";
inline constexpr char kNoPhantom[] = "no command in the log the client did not send";
inline constexpr char kLogContiguous[] = "log positions contiguous from 1";
inline constexpr char kSettled[] = "every order and coupon request settled once";
inline constexpr char kStockConservation[] = "stock conservation (restocks - confirmed)";
inline constexpr char kStockNonNegative[] = "stock never negative";
inline constexpr char kCouponLimits[] = "coupons <= quantity and <= per-user limit";
inline constexpr char kProjectionsReplay[] = "read models == fresh replay of the log";

// Counts the checks made and keeps the violations found.
class InvariantReport {
 public:
  // Records one check of `invariant`; `detail` describes a violation.
  void Check(const std::string& invariant, bool ok, const std::string& detail);

  bool ok() const { return violation_count_ == 0; }
  int64_t checks() const { return checks_; }
  int64_t violation_count() const { return violation_count_; }
  // At most kKeptViolations, in the order found.
  const std::vector<std::string>& violations() const { return violations_; }
  // invariant -> {checks, violations}
  const std::map<std::string, std::pair<int64_t, int64_t>>& by_invariant() const {
    return by_invariant_;
  }

  static constexpr size_t kKeptViolations = 50;

 private:
  int64_t checks_ = 0;
  int64_t violation_count_ = 0;
  std::vector<std::string> violations_;
  std::map<std::string, std::pair<int64_t, int64_t>> by_invariant_;
};

// The read models, computed by folding the log events in order.
struct Replay {
  struct StockRow {
    int64_t available = 0;  // adjustments - decreases + releases
    int64_t reserved = 0;   // decreases - releases
  };
  struct CampaignRow {
    int64_t total_quantity = 0;
    int64_t per_user_limit = 0;
    int64_t issued = 0;
  };
  std::map<std::string, StockRow> stock;                             // by sku
  std::map<std::string, v1::OrderStatus> orders;                     // by order id
  std::map<std::string, CampaignRow> campaigns;                      // by code
  std::map<std::string, v1::CouponRequestStatus> coupon_requests;    // by request id
};

Replay ReplayLog(const std::vector<v1::Event>& log);

// What the server's query side answered (GetOrder, GetStock, GetCampaign,
// GetCouponRequest) after the load.
struct ReadModelSnapshot {
  std::map<std::string, v1::Order> orders;
  std::map<std::string, v1::Stock> stock;
  std::map<std::string, v1::Campaign> campaigns;
  std::map<std::string, v1::CouponRequest> coupon_requests;
};

// Every invariant that follows from the client's records and the log.
void CheckLog(const std::vector<CommandRecord>& records, const std::vector<v1::Event>& log,
              const Replay& replay, InvariantReport* report);

// The server's read models equal the replay, row by row.
void CheckProjections(const Replay& replay, const ReadModelSnapshot& snapshot,
                      InvariantReport* report);

}  // namespace surge::crashloop

#endif  // SURGE_TESTS_CRASHLOOP_INVARIANTS_H_
