// Multi-node tests of surge-server in cluster mode (issue 12, ARCHITECTURE.md §6):
// nodes on one surge-kafka-dev broker (6 partitions, session timeout 6 s),
// commands spread over the nodes, nodes killed, paused, wiped, added and
// removed; every test ends with the cluster invariant checker (checker.h)
// over the union of the logs, the Kafka topics and every node's read models.
//
// Rebalances on the mock broker are slow (first join 3 s, later changes
// session.timeout - 1 s, a SIGKILLed node leaves after the session timeout),
// so every wait is a condition polled under a bound of 60-120 s, never a
// sleep.
#include "tests/cluster/cluster.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kafka/topics.h"
#include "tests/cluster/checker.h"
#include "tests/cluster/load.h"
#include "tests/cluster/rpc.h"

namespace surge::cluster_test {
namespace {

constexpr int kPartitions = 6;
constexpr int64_t kSettleWaitMs = 30000;
constexpr absl::Duration kOwnershipTimeout = absl::Seconds(90);

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const absl::Status _s = (expr);                         \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

class ClusterTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (cluster_ == nullptr) return;
    if (HasFailure()) {
      std::fprintf(stderr, "%s\n%s\n",
                   cluster_
                       ->GrepLogs({"partition", "rebalance", "restor", "assign", "revok", "fenc",
                                   "epoch", "error"},
                                  25)
                       .c_str(),
                   cluster_->LogTails(50).c_str());
    }
    cluster_.reset();
  }

  void StartCluster(Cluster::Options options) {
    absl::StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Start(std::move(options));
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }

  // Produces bytes that are no surge.v1.Event to `topic` (acks=all, waited
  // for), as a foreign producer would.
  void ProducePoison(const std::string& topic, const std::string& key) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", cluster_->bootstrap().c_str(), err,
                                sizeof(err)),
              RD_KAFKA_CONF_OK)
        << err;
    ASSERT_EQ(rd_kafka_conf_set(conf, "acks", "all", err, sizeof(err)), RD_KAFKA_CONF_OK) << err;
    std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> producer(
        rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)), rd_kafka_destroy);
    ASSERT_NE(producer, nullptr) << err;
    const std::string value = "\xff\xffnot a surge.v1.Event";
    ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  std::vector<int> All() const {
    std::vector<int> all;
    for (int i = 0; i < cluster_->size(); ++i) all.push_back(i);
    return all;
  }

  std::set<int> AllSet() const {
    std::vector<int> all = All();
    return std::set<int>(all.begin(), all.end());
  }

  // Waits until GetStock(sku) on every listed node shows `available`.
  absl::Status WaitStock(const std::string& sku, int64_t available, const std::vector<int>& nodes,
                         absl::Duration timeout = absl::Seconds(60)) {
    return rpc::WaitFor(absl::StrCat("GetStock ", sku, " available=", available, " on every node"),
                        timeout, [&](std::string* detail) {
                          std::vector<std::string> seen;
                          bool all = true;
                          for (int i : nodes) {
                            absl::StatusOr<v1::Stock> s = rpc::GetStock(cluster_->Channel(i), sku);
                            seen.push_back(absl::StrCat(
                                cluster_->node_id(i), "=",
                                s.ok() ? absl::StrCat(s->available()) : s.status().ToString()));
                            all = all && s.ok() && s->available() == available;
                          }
                          *detail = absl::StrJoin(seen, ", ");
                          return all;
                        });
  }

  // Waits until GetCampaign(code) succeeds on every listed node (a node
  // accepts RequestCoupon only for a campaign its read model holds).
  absl::Status WaitCampaignVisible(const std::string& code, const std::vector<int>& nodes,
                                   absl::Duration timeout = absl::Seconds(60)) {
    return rpc::WaitFor(
        absl::StrCat("campaign ", code, " visible on every node"), timeout,
        [&](std::string* detail) {
          for (int i : nodes) {
            absl::StatusOr<v1::Campaign> c = rpc::GetCampaign(cluster_->Channel(i), code);
            if (!c.ok()) {
              *detail = absl::StrCat(cluster_->node_id(i), ": ", c.status().ToString());
              return false;
            }
          }
          return true;
        });
  }

  // Waits until GetCampaign(code) on every listed node reports `issued`.
  absl::Status WaitCampaignIssued(const std::string& code, int64_t issued,
                                  const std::vector<int>& nodes,
                                  absl::Duration timeout = absl::Seconds(60)) {
    return WaitCampaignIssuedBetween(code, issued, issued, nodes, timeout);
  }

  // An open-ended load's coupons: each distinct user whose request was
  // acknowledged gets one while the quantity lasts, so the campaign ends at
  // min(quantity, those users); a request sent but never acknowledged may
  // have been accepted too (up to min(quantity, users who sent one)).
  absl::Status WaitCampaignIssuedByLoad(const std::string& code, int64_t quantity,
                                        const std::vector<LoadRecord>& records,
                                        const std::vector<int>& nodes) {
    std::set<std::string> acked_users;
    std::set<std::string> sent_users;
    for (const LoadRecord& r : records) {
      if (r.command.kind != LoadCommand::Kind::kRequestCoupon || r.command.code != code) continue;
      if (r.started) sent_users.insert(r.command.user_id);
      if (r.acked) acked_users.insert(r.command.user_id);
    }
    return WaitCampaignIssuedBetween(
        code, std::min<int64_t>(quantity, static_cast<int64_t>(acked_users.size())),
        std::min<int64_t>(quantity, static_cast<int64_t>(sent_users.size())), nodes);
  }

  // Waits until every listed node shows the same campaign with issued in
  // [low, high] and remaining = total - issued.
  absl::Status WaitCampaignIssuedBetween(const std::string& code, int64_t low, int64_t high,
                                         const std::vector<int>& nodes,
                                         absl::Duration timeout = absl::Seconds(60)) {
    return rpc::WaitFor(
        absl::StrCat(
            "campaign ", code, " issued ",
            low == high ? absl::StrCat("=", low) : absl::StrCat("in [", low, ",", high, "]"),
            " (remaining = total - issued) on every node"),
        timeout, [&](std::string* detail) {
          std::vector<std::string> seen;
          std::set<int64_t> issued;
          bool all = true;
          for (int i : nodes) {
            absl::StatusOr<v1::Campaign> c = rpc::GetCampaign(cluster_->Channel(i), code);
            seen.push_back(absl::StrCat(
                cluster_->node_id(i), "=",
                c.ok() ? absl::StrCat("issued ", c->issued(), " remaining ", c->remaining())
                       : c.status().ToString()));
            all = all && c.ok() && c->issued() >= low && c->issued() <= high &&
                  c->remaining() == c->total_quantity() - c->issued();
            if (c.ok()) issued.insert(c->issued());
          }
          all = all && issued.size() == 1;  // every node shows the same campaign
          *detail = absl::StrJoin(seen, ", ");
          return all;
        });
  }

  // GetOrder with the settlement wait, repeated while the answer is PENDING
  // or NOT_FOUND, up to `timeout` in all.
  absl::StatusOr<v1::Order> SettledOrder(int node, const std::string& order_id,
                                         absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<v1::Order> o = absl::UnknownError("not asked");
    do {
      const int64_t wait = std::min<int64_t>(
          kSettleWaitMs, std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now())));
      o = rpc::GetOrder(cluster_->Channel(node), order_id, wait);
      if (o.ok() && o->status() != v1::ORDER_STATUS_PENDING) return o;
    } while (absl::Now() < deadline);
    if (!o.ok()) return o.status();
    return absl::DeadlineExceededError(absl::StrCat("order ", order_id, " still PENDING on ",
                                                    cluster_->node_id(node), " after ",
                                                    absl::FormatDuration(timeout)));
  }

  absl::StatusOr<v1::CouponRequest> SettledCoupon(int node, const std::string& request_id,
                                                  absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::StatusOr<v1::CouponRequest> r = absl::UnknownError("not asked");
    do {
      const int64_t wait = std::min<int64_t>(
          kSettleWaitMs, std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now())));
      r = rpc::GetCouponRequest(cluster_->Channel(node), request_id, wait);
      if (r.ok() && r->status() != v1::COUPON_REQUEST_STATUS_PENDING) return r;
    } while (absl::Now() < deadline);
    if (!r.ok()) return r.status();
    return absl::DeadlineExceededError(absl::StrCat("coupon request ", request_id,
                                                    " still PENDING on ", cluster_->node_id(node),
                                                    " after ", absl::FormatDuration(timeout)));
  }

  // Every acknowledged command of `records` that `select` picks is decided
  // when read (with the wait) on `reader(record)`; all share one deadline.
  // Returns the failures (at most 15 listed) and their count.
  std::string CheckDecided(const std::vector<LoadRecord>& records,
                           const std::function<bool(const LoadRecord&)>& select,
                           const std::function<int(const LoadRecord&)>& reader,
                           absl::Duration timeout, int* checked, int* failures) {
    const absl::Time deadline = absl::Now() + timeout;
    std::vector<std::string> failed;
    *checked = 0;
    *failures = 0;
    for (const LoadRecord& r : records) {
      if (!r.acked || !select(r)) continue;
      ++*checked;
      const int node = reader(r);
      const absl::Duration left = std::max(deadline - absl::Now(), absl::Seconds(1));
      std::string problem;
      if (r.command.kind == LoadCommand::Kind::kRequestCoupon) {
        absl::StatusOr<v1::CouponRequest> c = SettledCoupon(node, r.command.request_id, left);
        if (!c.ok()) problem = c.status().ToString();
      } else {
        absl::StatusOr<v1::Order> o = SettledOrder(node, r.order_id, left);
        if (!o.ok()) problem = o.status().ToString();
      }
      if (problem.empty()) continue;
      ++*failures;
      if (failed.size() < 15) {
        failed.push_back(absl::StrCat(r.command.request_id, " (acked by n", r.acked_by + 1,
                                      ", read on ", cluster_->node_id(node), "): ", problem));
      }
    }
    return absl::StrJoin(failed, "\n  ");
  }

  // The node whose log holds decisions (CouponIssued/Rejected) for `code`:
  // the coupons decider owning its partition. -1 when none holds any yet.
  int CouponDeciderFor(const std::string& code) {
    int best = -1;
    int64_t best_position = -1;
    for (int i : cluster_->up_nodes()) {
      absl::StatusOr<std::vector<v1::Event>> log = rpc::ReadWholeLog(cluster_->Channel(i));
      if (!log.ok()) continue;
      for (const v1::Event& e : *log) {
        const bool decision = (e.has_coupon_issued() && e.coupon_issued().code() == code) ||
                              (e.has_coupon_rejected() && e.coupon_rejected().code() == code);
        if (decision && static_cast<int64_t>(e.recorded_at().seconds() * 1000000000LL +
                                             e.recorded_at().nanos()) > best_position) {
          best_position = e.recorded_at().seconds() * 1000000000LL + e.recorded_at().nanos();
          best = i;
        }
      }
    }
    return best;
  }

  // At rest every node's relay low watermark (every position <= W decided)
  // reaches its log head: otherwise --max_decision_lag eventually refuses
  // every command and --relay_window stops the relay.
  void ExpectDecidedUpToHead() {
    const absl::Status s = rpc::WaitFor(
        "every node's surge_relay_low_watermark to reach its surge_log_head_position",
        absl::Seconds(30),
        [&](std::string* detail) {
          std::vector<std::string> behind;
          for (int i : cluster_->up_nodes()) {
            absl::StatusOr<std::string> body = cluster_->Metrics(i);
            if (!body.ok()) {
              behind.push_back(absl::StrCat(cluster_->node_id(i), ": ", body.status().ToString()));
              continue;
            }
            absl::StatusOr<double> head = MetricValue(*body, "surge_log_head_position", {});
            absl::StatusOr<double> low = MetricValue(*body, "surge_relay_low_watermark", {});
            if (!head.ok() || !low.ok() || *low < *head) {
              behind.push_back(
                  absl::StrCat(cluster_->node_id(i), ": low watermark ",
                               low.ok() ? absl::StrCat(*low) : low.status().ToString(), ", head ",
                               head.ok() ? absl::StrCat(*head) : head.status().ToString()));
            }
          }
          *detail = absl::StrJoin(behind, "; ");
          return behind.empty();
        },
        absl::Milliseconds(500));
    EXPECT_TRUE(s.ok()) << s;
  }

  // Collects the cluster once settled and runs the checker.
  void ExpectClusterInvariants(const Acknowledged& acknowledged) {
    std::string why, stats;
    absl::StatusOr<ClusterReport> report =
        cluster_->CheckInvariants(acknowledged, &why, absl::Seconds(60), &stats);
    ASSERT_TRUE(report.ok()) << "collecting the cluster: " << report.status();
    EXPECT_FALSE(absl::StartsWith(why, "the cluster did not settle")) << why;
    if (!why.empty()) std::fprintf(stderr, "checker note: %s\n", why.c_str());
    EXPECT_TRUE(report->ok()) << "cluster invariants violated: " << report->Summary();
    if (report->Violated(kRelayed)) {
      // The relay's own account of itself, per node.
      for (int i : cluster_->up_nodes()) {
        absl::StatusOr<std::string> body = cluster_->Metrics(i);
        if (!body.ok()) continue;
        std::vector<std::string> lines;
        for (absl::string_view line : absl::StrSplit(*body, '\n')) {
          if (absl::StartsWith(line, "surge_relay") || absl::StartsWith(line, "surge_log_head")) {
            lines.emplace_back(line);
          }
        }
        std::fprintf(stderr, "%s relay metrics:\n  %s\n", cluster_->node_id(i).c_str(),
                     absl::StrJoin(lines, "\n  ").c_str());
      }
    }
    ExpectDecidedUpToHead();
    std::fprintf(stderr, "cluster checker over %s: %s\n", stats.c_str(),
                 report->ok() ? absl::StrCat(report->checks(), " checks, 0 violations").c_str()
                              : "violations (above)");
  }

  // Every decider's partitions add up to kPartitions over the nodes'
  // surge_cluster_partitions_owned, none is blocked, and the other cluster
  // metrics exist.
  void ExpectOwnershipMetrics(const std::vector<int>& nodes) {
    std::map<std::string, double> owned;
    for (int i : nodes) {
      absl::StatusOr<std::string> body = cluster_->Metrics(i);
      ASSERT_TRUE(body.ok()) << body.status();
      for (const std::string& decider : Deciders()) {
        absl::StatusOr<double> v =
            MetricValue(*body, "surge_cluster_partitions_owned",
                        {{"node", cluster_->node_id(i)}, {"decider", decider}});
        EXPECT_TRUE(v.ok()) << cluster_->node_id(i) << ": surge_cluster_partitions_owned{decider=\""
                            << decider << "\"}: " << v.status();
        if (v.ok()) owned[decider] += *v;
        // A healthy cluster's changelogs are whole: nothing is refused.
        absl::StatusOr<double> blocked =
            MetricValue(*body, "surge_cluster_blocked_partitions",
                        {{"node", cluster_->node_id(i)}, {"decider", decider}});
        EXPECT_TRUE(blocked.ok() && *blocked == 0)
            << cluster_->node_id(i) << ": surge_cluster_blocked_partitions{decider=\"" << decider
            << "\"}: " << (blocked.ok() ? absl::StrCat(*blocked) : blocked.status().ToString());
        // The projection families the lag alerts read, from the deciders.
        absl::StatusOr<double> lag =
            MetricValue(*body, "surge_projection_lag_messages",
                        {{"projection", decider}, {"node", cluster_->node_id(i)}});
        EXPECT_TRUE(lag.ok()) << cluster_->node_id(i)
                              << ": surge_projection_lag_messages{projection=\"" << decider
                              << "\"}: " << lag.status();
      }
      for (const char* name :
           {"surge_cluster_rebalances_total", "surge_cluster_changelog_lag_messages"}) {
        EXPECT_TRUE(HasMetric(*body, name)) << cluster_->node_id(i) << " has no " << name;
      }
      EXPECT_TRUE(HasMetric(*body, "surge_cluster_restore_seconds_count") ||
                  HasMetric(*body, "surge_cluster_restore_seconds_bucket"))
          << cluster_->node_id(i) << " has no surge_cluster_restore_seconds histogram";
    }
    for (const std::string& decider : Deciders()) {
      EXPECT_EQ(owned[decider], kPartitions)
          << "surge_cluster_partitions_owned of " << decider << " summed over the nodes";
    }
  }

  std::unique_ptr<Cluster> cluster_;
};

// A mixed load: even indices request a coupon of `code` (user "<prefix>u<k>",
// every 5th coupon request reuses the previous user), odd indices order
// one unit of `sku`.
std::function<LoadCommand(int64_t)> MixedLoad(const std::string& prefix, const std::string& code,
                                              const std::string& sku) {
  return [prefix, code, sku](int64_t i) {
    LoadCommand c;
    c.request_id = absl::StrCat(prefix, "-", i);
    if (i % 2 == 0) {
      const int64_t k = i / 2;
      c.kind = LoadCommand::Kind::kRequestCoupon;
      c.code = code;
      c.user_id = absl::StrCat(prefix, "u", k % 5 == 4 ? k - 1 : k);
    } else {
      c.kind = LoadCommand::Kind::kPlaceOrder;
      c.sku = sku;
      c.quantity = 1;
      c.user_id = absl::StrCat(prefix, "buyer", i % 17);
    }
    return c;
  };
}

// ---------------------------------------------------------------------------

TEST_F(ClusterTest, SeedOrderAcrossNodes) {
  ASSERT_NO_FATAL_FAILURE(StartCluster({.nodes = 3, .partitions = kPartitions}));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned(AllSet(), false, kOwnershipTimeout));

  ASSERT_OK(rpc::AdjustStock(cluster_->Channel(0), "seed-restock", "seed-book", 10));
  ASSERT_OK(WaitStock("seed-book", 10, All()));

  std::vector<std::string> order_ids;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<v1::PlaceOrderResponse> placed =
        rpc::PlaceOrder(cluster_->Channel(i), absl::StrCat("seed-order-", i),
                        absl::StrCat("seed-user-", i), {{"seed-book", 5}});
    ASSERT_TRUE(placed.ok()) << "PlaceOrder on " << cluster_->node_id(i) << ": " << placed.status();
    EXPECT_EQ(placed->status(), v1::ORDER_STATUS_PENDING);
    order_ids.push_back(placed->order_id());
  }
  EXPECT_EQ(std::set<std::string>(order_ids.begin(), order_ids.end()).size(), 3u)
      << "three requests, three orders: " << absl::StrJoin(order_ids, ", ");

  int confirmed = 0, cancelled = 0;
  for (int i = 0; i < 3; ++i) {
    const int reader = (i + 1) % 3;  // read back on another node than the one that accepted it
    absl::StatusOr<v1::Order> order = SettledOrder(reader, order_ids[i]);
    ASSERT_TRUE(order.ok()) << "order placed on " << cluster_->node_id(i) << ", read on "
                            << cluster_->node_id(reader) << ": " << order.status();
    confirmed += order->status() == v1::ORDER_STATUS_CONFIRMED;
    cancelled += order->status() == v1::ORDER_STATUS_CANCELLED;
  }
  EXPECT_EQ(confirmed, 2);
  EXPECT_EQ(cancelled, 1);
  {
    const absl::Status stock = WaitStock("seed-book", 0, All());
    EXPECT_TRUE(stock.ok()) << stock;
  }
  ExpectOwnershipMetrics(All());
  ExpectClusterInvariants(Acknowledged{.order_ids = {order_ids.begin(), order_ids.end()}});

  // Two nodes create the same campaign code with different terms at the
  // same moment: the decider keeps one, and each caller is told which.
  absl::Status race[2];
  {
    std::latch start(2);
    std::thread t0([&] {
      start.arrive_and_wait();
      race[0] = rpc::CreateCampaign(cluster_->Channel(0), "race-n1", "RACE", 100);
    });
    std::thread t1([&] {
      start.arrive_and_wait();
      race[1] = rpc::CreateCampaign(cluster_->Channel(1), "race-n2", "RACE", 50);
    });
    t0.join();
    t1.join();
  }
  ASSERT_NE(race[0].ok(), race[1].ok()) << "n1: " << race[0] << "; n2: " << race[1];
  const absl::Status& lost = race[0].ok() ? race[1] : race[0];
  EXPECT_EQ(lost.code(), absl::StatusCode::kAlreadyExists) << lost;
  const int64_t won = race[0].ok() ? 100 : 50;
  ASSERT_OK(rpc::WaitFor(absl::StrCat("campaign RACE with total_quantity ", won, " on every node"),
                         absl::Seconds(60), [&](std::string* detail) {
                           for (int i : All()) {
                             absl::StatusOr<v1::Campaign> c =
                                 rpc::GetCampaign(cluster_->Channel(i), "RACE");
                             *detail = absl::StrCat(cluster_->node_id(i), ": ",
                                                    c.ok() ? absl::StrCat(c->total_quantity())
                                                           : c.status().ToString());
                             if (!c.ok() || c->total_quantity() != won) return false;
                           }
                           return true;
                         }));

  // A message no decider can read is dead-lettered by the owner of its
  // partition. ReplayDeadLetter on that node hands it back through Kafka;
  // whoever owns the partition fails it again and dead-letters it anew, and
  // the first dead letter is marked replayed (once: a second call says so).
  ASSERT_NO_FATAL_FAILURE(ProducePoison(kafka::kCouponsTopic, "seed-poison"));
  int holder = -1;
  v1::DeadLetter first;
  ASSERT_OK(rpc::WaitFor(
      "a dead letter of surge.coupons on some node", absl::Seconds(60), [&](std::string* detail) {
        for (int i : All()) {
          auto rows = rpc::ListDeadLetters(cluster_->Channel(i), kafka::kCouponsTopic);
          if (rows.ok() && !rows->empty()) {
            holder = i;
            first = rows->front();
            return true;
          }
          *detail = rows.ok() ? "none yet" : rows.status().ToString();
        }
        return false;
      }));
  absl::StatusOr<v1::ReplayDeadLetterResponse> replayed =
      rpc::ReplayDeadLetter(cluster_->Channel(holder), first.id());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_TRUE(replayed->applied()) << replayed->result();
  EXPECT_TRUE(absl::StrContains(replayed->result(), "handed back")) << replayed->result();
  ASSERT_OK(rpc::WaitFor("the replayed message dead-lettered again, the first marked replayed",
                         absl::Seconds(60), [&](std::string* detail) {
                           int rows = 0;
                           bool marked = false;
                           for (int i : All()) {
                             auto listed =
                                 rpc::ListDeadLetters(cluster_->Channel(i), kafka::kCouponsTopic);
                             if (!listed.ok()) continue;
                             rows += static_cast<int>(listed->size());
                             for (const v1::DeadLetter& d : *listed)
                               marked |= d.id() == first.id() && d.replayed();
                           }
                           *detail =
                               absl::StrCat(rows, " dead letters, first marked replayed: ", marked);
                           return rows == 2 && marked;
                         }));
  replayed = rpc::ReplayDeadLetter(cluster_->Channel(holder), first.id());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_FALSE(replayed->applied()) << replayed->result();
}

TEST_F(ClusterTest, CrossNodeDuplicates) {
  ASSERT_NO_FATAL_FAILURE(StartCluster({.nodes = 3, .partitions = kPartitions}));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned(AllSet(), false, kOwnershipTimeout));
  ASSERT_OK(rpc::AdjustStock(cluster_->Channel(0), "dup-restock", "dup-sku", 100));
  ASSERT_OK(rpc::CreateCampaign(cluster_->Channel(0), "dup-campaign", "DUPC", 50, 1));
  ASSERT_OK(WaitStock("dup-sku", 100, All()));
  ASSERT_OK(WaitCampaignVisible("DUPC", All()));

  Acknowledged acks;
  constexpr int kRounds = 8;  // concurrent rounds, besides the sequential one
  // --- orders ---
  std::vector<std::pair<std::string, std::pair<int, int>>> order_requests;  // rid, nodes
  {
    const std::string rid = "dup-order-seq";
    auto first = rpc::PlaceOrder(cluster_->Channel(0), rid, "dup-user-seq", {{"dup-sku", 2}});
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = rpc::PlaceOrder(cluster_->Channel(1), rid, "dup-user-seq", {{"dup-sku", 2}});
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_EQ(first->order_id(), second->order_id())
        << "the same request_id on n1 then n2 must be one order";
    std::fprintf(stderr, "sequential duplicate order: n2 answered duplicate=%d status=%s\n",
                 second->duplicate(), v1::OrderStatus_Name(second->status()).c_str());
    acks.order_ids.insert(first->order_id());
    order_requests.push_back({first->order_id(), {0, 1}});
  }
  for (int k = 0; k < kRounds; ++k) {
    const std::string rid = absl::StrCat("dup-order-conc-", k);
    const int a = k % 3, b = (k + 1) % 3;
    std::latch go(2);
    absl::StatusOr<v1::PlaceOrderResponse> ra, rb;
    auto ca = cluster_->Channel(a), cb = cluster_->Channel(b);
    std::thread ta([&] {
      go.arrive_and_wait();
      ra = rpc::PlaceOrder(ca, rid, absl::StrCat("dup-user-", k), {{"dup-sku", 2}});
    });
    std::thread tb([&] {
      go.arrive_and_wait();
      rb = rpc::PlaceOrder(cb, rid, absl::StrCat("dup-user-", k), {{"dup-sku", 2}});
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(ra.ok()) << rid << " on " << cluster_->node_id(a) << ": " << ra.status();
    ASSERT_TRUE(rb.ok()) << rid << " on " << cluster_->node_id(b) << ": " << rb.status();
    EXPECT_EQ(ra->order_id(), rb->order_id())
        << rid << " sent at the same moment to " << cluster_->node_id(a) << " and "
        << cluster_->node_id(b) << " must be one order";
    acks.order_ids.insert(ra->order_id());
    acks.order_ids.insert(rb->order_id());
    order_requests.push_back({ra->order_id(), {a, b}});
  }
  for (const auto& [order_id, nodes] : order_requests) {
    for (int node : {nodes.first, nodes.second}) {
      absl::StatusOr<v1::Order> o = SettledOrder(node, order_id);
      ASSERT_TRUE(o.ok()) << o.status();
      EXPECT_EQ(o->status(), v1::ORDER_STATUS_CONFIRMED)
          << "order " << order_id << " on " << cluster_->node_id(node) << ": " << o->reason();
    }
  }
  // 1 + kRounds distinct orders of 2 units each: stock taken once per order.
  {
    const absl::Status stock = WaitStock("dup-sku", 100 - 2 * (1 + kRounds), All());
    EXPECT_TRUE(stock.ok()) << "stock taken once per request_id: " << stock;
  }

  // --- coupons ---
  std::vector<std::pair<std::string, std::pair<int, int>>> coupon_requests;
  {
    const std::string rid = "dup-coupon-seq";
    auto first = rpc::RequestCoupon(cluster_->Channel(0), rid, "dup-cu-seq", "DUPC");
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = rpc::RequestCoupon(cluster_->Channel(2), rid, "dup-cu-seq", "DUPC");
    ASSERT_TRUE(second.ok()) << second.status();
    std::fprintf(stderr, "sequential duplicate coupon request: n3 answered duplicate=%d\n",
                 second->duplicate());
    acks.coupon_request_ids.insert(rid);
    coupon_requests.push_back({rid, {0, 2}});
  }
  for (int k = 0; k < kRounds; ++k) {
    const std::string rid = absl::StrCat("dup-coupon-conc-", k);
    const int a = (k + 1) % 3, b = (k + 2) % 3;
    std::latch go(2);
    absl::StatusOr<v1::RequestCouponResponse> ra, rb;
    auto ca = cluster_->Channel(a), cb = cluster_->Channel(b);
    const std::string user = absl::StrCat("dup-cu-", k);
    std::thread ta([&] {
      go.arrive_and_wait();
      ra = rpc::RequestCoupon(ca, rid, user, "DUPC");
    });
    std::thread tb([&] {
      go.arrive_and_wait();
      rb = rpc::RequestCoupon(cb, rid, user, "DUPC");
    });
    ta.join();
    tb.join();
    ASSERT_TRUE(ra.ok()) << rid << " on " << cluster_->node_id(a) << ": " << ra.status();
    ASSERT_TRUE(rb.ok()) << rid << " on " << cluster_->node_id(b) << ": " << rb.status();
    acks.coupon_request_ids.insert(rid);
    coupon_requests.push_back({rid, {a, b}});
  }
  for (const auto& [rid, nodes] : coupon_requests) {
    absl::StatusOr<v1::CouponRequest> ca = SettledCoupon(nodes.first, rid);
    absl::StatusOr<v1::CouponRequest> cb = SettledCoupon(nodes.second, rid);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ASSERT_TRUE(cb.ok()) << cb.status();
    EXPECT_EQ(ca->status(), v1::COUPON_REQUEST_STATUS_ISSUED)
        << rid << ": " << ca->ShortDebugString();
    EXPECT_EQ(ca->status(), cb->status())
        << rid << ": " << ca->ShortDebugString() << " vs " << cb->ShortDebugString();
    EXPECT_EQ(ca->coupon_id(), cb->coupon_id())
        << rid << " must be one decision: " << ca->ShortDebugString() << " vs "
        << cb->ShortDebugString();
  }
  {
    const absl::Status issued = WaitCampaignIssued("DUPC", 1 + kRounds, All());
    EXPECT_TRUE(issued.ok()) << "one coupon per request_id: " << issued;
  }
  ExpectClusterInvariants(acks);
}

TEST_F(ClusterTest, FlashSaleWithNodeLost) {
  ASSERT_NO_FATAL_FAILURE(StartCluster({.nodes = 3, .partitions = kPartitions}));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned(AllSet(), false, kOwnershipTimeout));
  constexpr int64_t kQuantity = 200;
  constexpr int64_t kRequests = 1800;  // 1500 distinct users, every 6th request a repeat
  ASSERT_OK(rpc::CreateCampaign(cluster_->Channel(0), "flash-campaign", "FLASH", kQuantity, 1));
  ASSERT_OK(WaitCampaignVisible("FLASH", All()));

  LoadRunner load({.threads = 6, .rate_per_s = 120, .rpc_timeout = absl::Seconds(3)}, kRequests,
                  [](int64_t i) {
                    LoadCommand c;
                    c.kind = LoadCommand::Kind::kRequestCoupon;
                    c.request_id = absl::StrCat("flash-", i);
                    c.code = "FLASH";
                    c.user_id = absl::StrCat("fu-", i % 6 == 5 ? i - 5 : i);
                    return c;
                  });
  for (int i : All()) load.SetTarget(i, cluster_->Channel(i));
  load.Start();
  ASSERT_TRUE(load.WaitAcked(100, absl::Seconds(60)))
      << "load: " << LoadRunner::Describe(load.Records());

  // The victim: the node deciding FLASH (its log holds the decisions), so
  // that the sale's partition has to move.
  int victim = -1;
  ASSERT_OK(
      rpc::WaitFor("a node to decide FLASH requests", absl::Seconds(60), [&](std::string* detail) {
        victim = CouponDeciderFor("FLASH");
        *detail = "no CouponIssued/CouponRejected of FLASH in any log";
        return victim >= 0;
      }));
  std::fprintf(stderr, "FLASH is decided on %s; killing it with %lld acked\n",
               cluster_->node_id(victim).c_str(), static_cast<long long>(load.acked()));
  cluster_->Kill(victim);
  const absl::Time killed_at = absl::Now();
  std::vector<int> survivors;
  for (int i : All()) {
    if (i != victim) survivors.push_back(i);
  }

  load.Join();
  std::vector<LoadRecord> records = load.Records();
  std::fprintf(stderr, "load: %s\n", LoadRunner::Describe(records).c_str());
  int64_t acked_after_kill = 0;
  for (const LoadRecord& r : records) acked_after_kill += r.acked && r.acked_at > killed_at;
  ASSERT_GT(acked_after_kill, 0) << "the sale must go on after the kill";

  // While the victim is down: what the survivors acknowledged after the kill
  // is decided (its partitions moved), read on the other survivor.
  ASSERT_OK(cluster_->WaitAllPartitionsOwned({survivors.begin(), survivors.end()}, false,
                                             kOwnershipTimeout));
  {
    int checked = 0, failures = 0;
    const std::string failed = CheckDecided(
        records, [&](const LoadRecord& r) { return r.acked_at > killed_at; },
        [&](const LoadRecord& r) {
          return r.acked_by == survivors[0] ? survivors[1] : survivors[0];
        },
        absl::Seconds(60), &checked, &failures);
    EXPECT_EQ(failures, 0) << failures << " of " << checked << " requests acknowledged by the "
                           << "survivors after the kill are undecided while "
                           << cluster_->node_id(victim) << " is down:\n  " << failed;
  }
  EXPECT_FALSE(cluster_->up(victim));

  // Back on the same disk: everything it had acknowledged settles.
  ASSERT_OK(cluster_->Restart(victim));
  ASSERT_OK(cluster_->WaitMemberAlive(survivors[0], victim));
  {
    int checked = 0, failures = 0;
    const std::string failed = CheckDecided(
        records, [&](const LoadRecord& r) { return r.acked_by == victim; },
        [&](const LoadRecord& r) { return victim; }, absl::Seconds(60), &checked, &failures);
    EXPECT_EQ(failures, 0) << failures << " of " << checked << " requests acknowledged by "
                           << cluster_->node_id(victim) << " before the kill are undecided:\n  "
                           << failed;
  }
  {
    const absl::Status issued = WaitCampaignIssued("FLASH", kQuantity, All());
    EXPECT_TRUE(issued.ok()) << "exactly Q issued, the same remaining everywhere: " << issued;
  }
  // Count what the clients see: exactly Q issued, nobody twice.
  {
    int64_t issued = 0;
    std::map<std::string, int> per_user;
    std::set<std::string> coupons;
    for (const LoadRecord& r : records) {
      if (!r.acked) continue;
      absl::StatusOr<v1::CouponRequest> c =
          rpc::GetCouponRequest(cluster_->Channel(0), r.command.request_id, 5000);
      ASSERT_TRUE(c.ok()) << r.command.request_id << ": " << c.status();
      if (c->status() != v1::COUPON_REQUEST_STATUS_ISSUED) continue;
      ++issued;
      ++per_user[r.command.user_id];
      EXPECT_TRUE(coupons.insert(c->coupon_id()).second)
          << "coupon " << c->coupon_id() << " issued twice";
    }
    EXPECT_EQ(issued, kQuantity) << "acknowledged requests read ISSUED on n1";
    for (const auto& [user, n] : per_user) EXPECT_EQ(n, 1) << user << " holds " << n << " coupons";
  }
  {
    absl::StatusOr<std::string> body = cluster_->Metrics(survivors[0]);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_GT(MetricSum(*body, "surge_cluster_rebalances_total"), 0)
        << "a survivor counted no rebalance";
  }
  ExpectClusterInvariants(LoadRunner::AcknowledgedOf(records));
}

TEST_F(ClusterTest, Zombie) {
  ASSERT_NO_FATAL_FAILURE(StartCluster({.nodes = 3, .partitions = kPartitions}));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned(AllSet(), false, kOwnershipTimeout));
  constexpr int64_t kQuantity = 150;
  ASSERT_OK(rpc::AdjustStock(cluster_->Channel(0), "zombie-restock", "zombie-sku", 100000));
  ASSERT_OK(rpc::CreateCampaign(cluster_->Channel(0), "zombie-campaign", "ZOMB", kQuantity, 1));
  ASSERT_OK(WaitStock("zombie-sku", 100000, All()));
  ASSERT_OK(WaitCampaignVisible("ZOMB", All()));

  // Open-ended load (stopped below once every phase saw traffic).
  LoadRunner load({.threads = 4, .rate_per_s = 60, .rpc_timeout = absl::Seconds(2)}, 100000,
                  MixedLoad("zombie", "ZOMB", "zombie-sku"));
  for (int i : All()) load.SetTarget(i, cluster_->Channel(i));
  load.Start();
  ASSERT_TRUE(load.WaitAcked(100, absl::Seconds(60)))
      << "load: " << LoadRunner::Describe(load.Records());

  // The zombie: the node deciding ZOMB, which owns partitions.
  int zombie = -1;
  ASSERT_OK(
      rpc::WaitFor("a node to decide ZOMB requests", absl::Seconds(60), [&](std::string* detail) {
        zombie = CouponDeciderFor("ZOMB");
        *detail = "no CouponIssued/CouponRejected of ZOMB in any log";
        return zombie >= 0;
      }));
  {
    absl::StatusOr<v1::DescribeClusterResponse> d = cluster_->Describe(zombie);
    ASSERT_TRUE(d.ok()) << d.status();
    int owned = 0;
    for (const v1::PartitionOwner& p : d->partitions()) {
      owned += p.owner_node_id() == cluster_->node_id(zombie);
    }
    EXPECT_GT(owned, 0) << cluster_->node_id(zombie) << " decides ZOMB but DescribeCluster says "
                        << "it owns nothing: " << d->ShortDebugString();
  }
  std::vector<int> others;
  for (int i : All()) {
    if (i != zombie) others.push_back(i);
  }
  std::fprintf(stderr, "SIGSTOP %s with %lld acked\n", cluster_->node_id(zombie).c_str(),
               static_cast<long long>(load.acked()));
  ASSERT_OK(cluster_->Stop(zombie));
  const absl::Time stopped_at = absl::Now();
  // Beyond the session timeout: its partitions move to the others...
  ASSERT_OK(
      cluster_->WaitAllPartitionsOwned({others.begin(), others.end()}, false, kOwnershipTimeout));
  // ...and they decide there for a while before the zombie wakes up.
  const int64_t acked_at_handoff = load.acked();
  EXPECT_TRUE(load.WaitAcked(acked_at_handoff + 60, absl::Seconds(30)))
      << "load: " << LoadRunner::Describe(load.Records());
  std::fprintf(stderr, "SIGCONT %s after %s stopped\n", cluster_->node_id(zombie).c_str(),
               absl::FormatDuration(absl::Now() - stopped_at).c_str());
  ASSERT_OK(cluster_->Cont(zombie));
  const absl::Time resumed_at = absl::Now();

  // It rejoins as a member, and a rebalance gives it partitions again.
  ASSERT_OK(cluster_->WaitMemberAlive(others[0], zombie));
  {
    const absl::Status rejoined =
        cluster_->WaitAllPartitionsOwned(AllSet(), true, kOwnershipTimeout);
    EXPECT_TRUE(rejoined.ok()) << "the resumed node should own partitions again after a "
                               << "rebalance: " << rejoined;
  }
  // Some more traffic with the zombie back in, then stop.
  const int64_t acked_at_rejoin = load.acked();
  EXPECT_TRUE(load.WaitAcked(acked_at_rejoin + 60, absl::Seconds(30)))
      << "load: " << LoadRunner::Describe(load.Records());
  load.Stop();
  load.Join();
  std::vector<LoadRecord> records = load.Records();
  std::fprintf(stderr, "load: %s\n", LoadRunner::Describe(records).c_str());
  {
    // What the zombie decided in its first seconds back (before it learnt it
    // had lost its partitions), and how much of it other nodes had decided
    // too: a measure of how much zombie behaviour this run exercised.
    std::set<std::string> elsewhere;
    for (int i : others) {
      absl::StatusOr<std::vector<v1::Event>> log = rpc::ReadWholeLog(cluster_->Channel(i));
      ASSERT_TRUE(log.ok()) << log.status();
      for (const v1::Event& e : *log) elsewhere.insert(e.event_id());
    }
    absl::StatusOr<std::vector<v1::Event>> log = rpc::ReadWholeLog(cluster_->Channel(zombie));
    ASSERT_TRUE(log.ok()) << log.status();
    int decided = 0, also_elsewhere = 0;
    for (const v1::Event& e : *log) {
      const bool decision = e.has_coupon_issued() || e.has_coupon_rejected() ||
                            e.has_stock_decreased() || e.has_stock_decrease_failed() ||
                            e.has_stock_released() || e.has_order_confirmed() ||
                            e.has_order_cancelled();
      const absl::Time at = absl::FromUnixSeconds(e.recorded_at().seconds()) +
                            absl::Nanoseconds(e.recorded_at().nanos());
      if (!decision || at < resumed_at || at > resumed_at + absl::Seconds(3)) continue;
      ++decided;
      also_elsewhere += elsewhere.contains(e.event_id());
    }
    std::fprintf(stderr,
                 "zombie %s appended %d decision events in its first 3 s after SIGCONT, %d of "
                 "them also decided (same event id) by another node\n",
                 cluster_->node_id(zombie).c_str(), decided, also_elsewhere);
  }
  {
    int checked = 0, failures = 0;
    const std::string failed = CheckDecided(
        records, [](const LoadRecord&) { return true; },
        [&](const LoadRecord& r) { return (r.acked_by + 1) % 3; }, absl::Seconds(60), &checked,
        &failures);
    EXPECT_EQ(failures, 0) << failures << " of " << checked
                           << " acknowledged commands undecided:\n  " << failed;
  }
  {
    const absl::Status issued = WaitCampaignIssuedByLoad("ZOMB", kQuantity, records, All());
    EXPECT_TRUE(issued.ok()) << issued;
  }
  ExpectClusterInvariants(LoadRunner::AcknowledgedOf(records));
}

TEST_F(ClusterTest, AckKafkaLostDisk) {
  ASSERT_NO_FATAL_FAILURE(
      StartCluster({.nodes = 3, .partitions = kPartitions, .node_flags = {"--ack=kafka"}}));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned(AllSet(), false, kOwnershipTimeout));
  ASSERT_OK(rpc::AdjustStock(cluster_->Channel(0), "akd-restock", "akd-sku", 100000));
  ASSERT_OK(rpc::CreateCampaign(cluster_->Channel(0), "akd-campaign", "AKD", 100000, 1));
  ASSERT_OK(WaitStock("akd-sku", 100000, All()));
  ASSERT_OK(WaitCampaignVisible("AKD", All()));

  constexpr int kVictim = 2;  // n3: no admin command went through it
  LoadRunner load({.threads = 4, .rate_per_s = 90, .rpc_timeout = absl::Seconds(3)}, 900,
                  MixedLoad("akd", "AKD", "akd-sku"));
  for (int i : All()) load.SetTarget(i, cluster_->Channel(i));
  load.Start();
  ASSERT_TRUE(load.WaitAcked(300, absl::Seconds(60)))
      << "load: " << LoadRunner::Describe(load.Records());
  // A burst straight at the victim, killed the moment the last answer is in:
  // whatever it acknowledged last has had no time to be relayed afterwards.
  LoadRunner burst(
      {.threads = 8, .rate_per_s = 0, .rpc_timeout = absl::Seconds(3), .max_attempts = 1}, 80,
      MixedLoad("akd-burst", "AKD", "akd-sku"));
  burst.SetTarget(kVictim, cluster_->Channel(kVictim));
  burst.Start();
  burst.Join();
  cluster_->Kill(kVictim);
  ASSERT_OK(cluster_->WipeDisk(kVictim));
  std::fprintf(stderr, "killed %s right after a burst (%s) and deleted its data dir\n",
               cluster_->node_id(kVictim).c_str(), LoadRunner::Describe(burst.Records()).c_str());
  load.Join();
  std::vector<LoadRecord> records = load.Records();
  std::fprintf(stderr, "load: %s\n", LoadRunner::Describe(records).c_str());
  for (const LoadRecord& r : burst.Records()) records.push_back(r);

  // Every command the lost node acknowledged is decided on the others.
  ASSERT_OK(cluster_->WaitAllPartitionsOwned({0, 1}, false, kOwnershipTimeout));
  {
    int checked = 0, failures = 0;
    const std::string failed = CheckDecided(
        records, [](const LoadRecord& r) { return r.acked_by == kVictim; },
        [](const LoadRecord& r) { return static_cast<int>(r.command.request_id.size()) % 2; },
        absl::Seconds(60), &checked, &failures);
    EXPECT_GT(checked, 0) << "the victim acknowledged nothing before the kill";
    EXPECT_EQ(failures, 0) << failures << " of " << checked << " commands acknowledged with "
                           << "--ack=kafka by " << cluster_->node_id(kVictim)
                           << " (disk lost) are not decided on the survivors:\n  " << failed;
  }
  // And what the survivors acknowledged is decided too (some of it was
  // decided by the lost node, whose decisions may have died with its disk).
  {
    int checked = 0, failures = 0;
    const std::string failed = CheckDecided(
        records, [](const LoadRecord& r) { return r.acked_by != kVictim; },
        [](const LoadRecord& r) { return 1 - r.acked_by; }, absl::Seconds(60), &checked, &failures);
    EXPECT_EQ(failures, 0) << failures << " of " << checked << " commands acknowledged by the "
                           << "survivors are not decided after " << cluster_->node_id(kVictim)
                           << " was lost with its disk:\n  " << failed;
  }
  ExpectClusterInvariants(LoadRunner::AcknowledgedOf(records));
}

// A node lost with its disk comes back empty under the same node id: its new
// log restarts at position 1, and what it accepts now is decided like
// anything else, without being mistaken for (or colliding with) what its
// previous incarnation relayed.
TEST_F(ClusterTest, AckKafkaWipedNodeRejoins) {
  ASSERT_NO_FATAL_FAILURE(
      StartCluster({.nodes = 3, .partitions = kPartitions, .node_flags = {"--ack=kafka"}}));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned(AllSet(), false, kOwnershipTimeout));
  ASSERT_OK(rpc::AdjustStock(cluster_->Channel(0), "rejoin-restock", "rejoin-sku", 100000));
  ASSERT_OK(rpc::CreateCampaign(cluster_->Channel(0), "rejoin-campaign", "REJOIN", 100000, 1));
  ASSERT_OK(WaitStock("rejoin-sku", 100000, All()));
  ASSERT_OK(WaitCampaignVisible("REJOIN", All()));

  constexpr int kVictim = 2;
  LoadRunner before({.threads = 4, .rate_per_s = 0, .rpc_timeout = absl::Seconds(3)}, 300,
                    MixedLoad("rejoin", "REJOIN", "rejoin-sku"));
  for (int i : All()) before.SetTarget(i, cluster_->Channel(i));
  before.Start();
  before.Join();
  std::vector<LoadRecord> records = before.Records();
  std::fprintf(stderr, "before the loss: %s\n", LoadRunner::Describe(records).c_str());
  cluster_->Kill(kVictim);
  ASSERT_OK(cluster_->WipeDisk(kVictim));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned({0, 1}, false, kOwnershipTimeout));

  ASSERT_OK(cluster_->Restart(kVictim));
  ASSERT_OK(cluster_->WaitMemberAlive(0, kVictim));
  ASSERT_OK(WaitCampaignVisible("REJOIN", All(), absl::Seconds(90)));
  LoadRunner after({.threads = 2, .rate_per_s = 0, .rpc_timeout = absl::Seconds(3)}, 100,
                   MixedLoad("rejoin-after", "REJOIN", "rejoin-sku"));
  after.SetTarget(kVictim, cluster_->Channel(kVictim));
  after.Start();
  after.Join();
  std::vector<LoadRecord> after_records = after.Records();
  std::fprintf(stderr, "after the rejoin: %s\n", LoadRunner::Describe(after_records).c_str());
  {
    int checked = 0, failures = 0;
    const std::string failed = CheckDecided(
        after_records, [](const LoadRecord&) { return true; }, [](const LoadRecord&) { return 0; },
        absl::Seconds(60), &checked, &failures);
    EXPECT_EQ(checked, 100) << LoadRunner::Describe(after_records);
    EXPECT_EQ(failures, 0) << failures << " of " << checked << " commands accepted by the "
                           << "rejoined (wiped) node are undecided on n1:\n  " << failed;
  }
  records.insert(records.end(), after_records.begin(), after_records.end());
  ExpectClusterInvariants(LoadRunner::AcknowledgedOf(records));
}

TEST_F(ClusterTest, ScaleOutAndIn) {
  ASSERT_NO_FATAL_FAILURE(StartCluster({.nodes = 1, .partitions = kPartitions}));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned({0}, false, kOwnershipTimeout));
  constexpr int64_t kQuantity = 300;
  ASSERT_OK(rpc::AdjustStock(cluster_->Channel(0), "scale-restock", "scale-sku", 100000));
  ASSERT_OK(rpc::CreateCampaign(cluster_->Channel(0), "scale-campaign", "SCALE", kQuantity, 1));
  ASSERT_OK(WaitCampaignVisible("SCALE", {0}));

  // Open-ended load (stopped below once every phase saw traffic).
  LoadRunner load({.threads = 4, .rate_per_s = 60, .rpc_timeout = absl::Seconds(3)}, 100000,
                  MixedLoad("scale", "SCALE", "scale-sku"));
  load.SetTarget(0, cluster_->Channel(0));
  load.Start();
  ASSERT_TRUE(load.WaitAcked(100, absl::Seconds(60)))
      << "load: " << LoadRunner::Describe(load.Records());

  // Scale out to three under load.
  for (int k = 0; k < 2; ++k) {
    absl::StatusOr<int> added = cluster_->AddNode();
    ASSERT_TRUE(added.ok()) << added.status();
    ASSERT_OK(WaitCampaignVisible("SCALE", {*added}, absl::Seconds(90)));
    load.SetTarget(*added, cluster_->Channel(*added));
    std::fprintf(stderr, "added %s with %lld acked\n", cluster_->node_id(*added).c_str(),
                 static_cast<long long>(load.acked()));
  }
  ASSERT_OK(cluster_->WaitAllPartitionsOwned({0, 1, 2}, true, kOwnershipTimeout));
  const int64_t acked_at_three = load.acked();
  ASSERT_TRUE(load.WaitAcked(acked_at_three + 60, absl::Seconds(30)))
      << "load: " << LoadRunner::Describe(load.Records());

  // Scale in: n2 leaves gracefully (clients drained from it first).
  load.RemoveTarget(1);
  absl::StatusOr<int> exit_code = cluster_->Terminate(1);
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0) << "SIGTERM should end n2 cleanly";
  std::fprintf(stderr, "n2 left with %lld acked\n", static_cast<long long>(load.acked()));
  ASSERT_OK(cluster_->WaitAllPartitionsOwned({0, 2}, true, kOwnershipTimeout));
  const int64_t acked_at_two = load.acked();
  EXPECT_TRUE(load.WaitAcked(acked_at_two + 60, absl::Seconds(30)))
      << "load: " << LoadRunner::Describe(load.Records());
  load.Stop();
  load.Join();
  std::vector<LoadRecord> records = load.Records();
  std::fprintf(stderr, "load: %s\n", LoadRunner::Describe(records).c_str());

  {
    int checked = 0, failures = 0;
    const std::string failed = CheckDecided(
        records, [](const LoadRecord&) { return true; },
        [](const LoadRecord& r) { return r.acked_by == 0 ? 2 : 0; }, absl::Seconds(60), &checked,
        &failures);
    EXPECT_EQ(failures, 0) << failures << " of " << checked
                           << " acknowledged commands undecided (n2's included):\n  " << failed;
  }
  {
    const absl::Status issued = WaitCampaignIssuedByLoad("SCALE", kQuantity, records, {0, 2});
    EXPECT_TRUE(issued.ok()) << issued;
  }
  ExpectOwnershipMetrics({0, 2});
  {
    absl::StatusOr<std::string> body = cluster_->Metrics(0);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_GE(MetricSum(*body, "surge_cluster_rebalances_total"), 2)
        << "n1 went through at least two rebalances (scale out, scale in)";
  }
  ExpectClusterInvariants(LoadRunner::AcknowledgedOf(records));
}

}  // namespace
}  // namespace surge::cluster_test
