// The dashboard (ops/grafana/surge.json) and the rules
// (ops/prometheus/alerts.yml) against a real Prometheus scraping a live
// two-node CLUSTER (tests/cluster/cluster.h: surge-kafka-dev and two
// surge-server --cluster nodes), the cluster counterpart of ops_live_test.cc.
// Prometheus scrapes node n1 from its start and n2 from before it joins, so
// the join's rebalance and state restores happen under its eyes. Orders
// (confirmed and one cancelled), a campaign and coupon requests go through
// both nodes' gRPC channels, one NOT_FOUND call, one dead letter; then:
//   - every panel query, the [cluster-only] ones included, parses and
//     returns data (numbers, not only NaN), except the queries listed in
//     SingleNodeOnlyPanels(), which read metrics only a single node's
//     projections export (SingleNodeOnlyMetrics(), with the reasons);
//   - every template variable lists something;
//   - every rule loads and evaluates without error, the metrics it reads
//     exist on the nodes (cluster rules included) unless listed in
//     SingleNodeOnlyMetrics(), recording rules record;
//   - the dead letter fires SurgeDeadLetters and nothing else fires.
// Expressions are read from the files at run time, as in ops_live_test.cc.
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kafka/topics.h"
#include "tests/cluster/cluster.h"
#include "tests/cluster/rpc.h"
#include "tests/ops/ops_files.h"
#include "tests/ops/rules_prometheus.h"
#include "tests/pipeline/kafka_test_client.h"

namespace surge::testing {
namespace {

using cluster_test::Cluster;
namespace rpc = cluster_test::rpc;

constexpr int kNodes = 2;
constexpr int kPartitions = 6;
constexpr absl::Duration kDataTimeout = absl::Seconds(45);
constexpr absl::Duration kSettleTimeout = absl::Seconds(60);
constexpr absl::Duration kOwnershipTimeout = absl::Seconds(90);

// The metrics only a single node's projections (projections::ProjectionRunner)
// export. On a cluster the deciders consume the topics instead and export
// their own families (surge_cluster_decided_total, ..., and, for the lag
// alerts, surge_projection_lag_*, _position, _event_age_seconds,
// _dead_lettered_total); these have no counterpart there.
const std::map<std::string, std::string>& SingleNodeOnlyMetrics() {
  static const auto* metrics = new std::map<std::string, std::string>{
      {"surge_projection_messages_total",
       "messages a projection applied; a decider counts surge_cluster_decided_total"},
      {"surge_projection_retries_total",
       "projection attempts tried again; deciders export no such count"},
      {"surge_projection_batch_seconds_bucket", "projection batch time; deciders have none"},
      {"surge_projection_event_relay_seconds_bucket",
       "the event age split at the Kafka CreateTime, measured by projections only"},
      {"surge_projection_event_kafka_seconds_bucket",
       "the event age split at the Kafka CreateTime, measured by projections only"},
      {"surge_projection_foreign_origin",
       "messages from another node on a single node's topics; a cluster's nodes share them"},
  };
  return *metrics;
}

// The panel queries (panel title, query ref id) that read only
// SingleNodeOnlyMetrics (directly or through a recording rule), and stay
// empty on a cluster by nature. A listed query that has data on a cluster
// fails the test, so the list cannot go stale.
const std::map<std::pair<std::string, std::string>, std::string>& SingleNodeOnlyPanels() {
  static const auto* panels = new std::map<std::pair<std::string, std::string>, std::string>{
      {{"Relay and projection throughput", "B"}, "surge_projection_messages_total"},
      {{"Relay errors, rewinds and projection retries", "C"}, "surge_projection_retries_total"},
      {{"Event age, split at Kafka (p99)", "A"}, "surge_projection_event_relay_seconds"},
      {{"Event age, split at Kafka (p99)", "B"}, "surge_projection_event_kafka_seconds"},
      {{"Projection batch time", "A"}, "surge_projection_batch_seconds"},
  };
  return *panels;
}

class OpsLiveClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RulesPrometheus::Installed()) {
      GTEST_SKIP() << "prometheus not installed (scripts/install-deps.sh installs it)";
    }
    auto dashboard = LoadDashboard(OpsPath("grafana/surge.json"));
    ASSERT_TRUE(dashboard.ok()) << dashboard.status();
    dashboard_ = *std::move(dashboard);
    ASSERT_FALSE(dashboard_.targets.empty());

    // n1 first, Prometheus on it, then n2: the rebalance n2's join causes,
    // and the restores it brings on n1 (surge_cluster_restore_seconds, whose
    // panel shows a rate over 1m), happen while Prometheus scrapes n1.
    auto cluster = Cluster::Start({.nodes = 1, .partitions = kPartitions});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto prom = RulesPrometheus::Start(
        {.file_targets = true, .rule_files = {OpsPath("prometheus/alerts.yml")}});
    ASSERT_TRUE(prom.ok()) << prom.status();
    prom_ = *std::move(prom);
    ASSERT_NO_FATAL_FAILURE(ScrapeNodes());
    for (int i = 1; i < kNodes; ++i) {
      auto added = cluster_->AddNode();
      ASSERT_TRUE(added.ok()) << added.status();
      ASSERT_NO_FATAL_FAILURE(ScrapeNodes());
    }
    const absl::Status owned =
        cluster_->WaitAllPartitionsOwned({0, 1}, /*each_owns=*/true, kOwnershipTimeout);
    ASSERT_TRUE(owned.ok()) << owned;
  }

  void TearDown() override {
    if (cluster_ != nullptr && HasFailure()) {
      std::cerr << cluster_->GrepLogs({"partition", "rebalance", "restor", "error"}, 20) << "\n"
                << cluster_->LogTails(30) << "\n";
      if (prom_ != nullptr) std::cerr << "prometheus:\n" << prom_->LogTail() << "\n";
    }
    prom_.reset();
    cluster_.reset();
  }

  // Points Prometheus at every node's metrics port and waits until it
  // scrapes them all (up == 1 for each).
  void ScrapeNodes() {
    std::vector<int> ports;
    for (int i = 0; i < cluster_->size(); ++i) {
      ASSERT_GT(cluster_->node(i).metrics_port(), 0) << cluster_->node_id(i);
      ports.push_back(cluster_->node(i).metrics_port());
    }
    ASSERT_TRUE(prom_->SetTargets(ports).ok());
    auto up = EventuallyHasData(*prom_, "up == 1", kDataTimeout, static_cast<int>(ports.size()));
    ASSERT_TRUE(up.ok()) << up.status();
    ASSERT_TRUE(*up) << "Prometheus does not scrape all of " << absl::StrJoin(ports, ", ") << "\n"
                     << prom_->LogTail();
  }

  std::vector<int> All() const {
    std::vector<int> all;
    for (int i = 0; i < cluster_->size(); ++i) all.push_back(i);
    return all;
  }

  // GetOrder with the server-side settlement wait until it is no longer
  // PENDING, bounded by kSettleTimeout.
  absl::StatusOr<v1::Order> SettledOrder(int node, const std::string& order_id) {
    absl::StatusOr<v1::Order> order = absl::UnknownError("not asked");
    const absl::Status s = rpc::WaitFor(
        absl::StrCat("order ", order_id, " settled on ", cluster_->node_id(node)), kSettleTimeout,
        [&](std::string* detail) {
          order = rpc::GetOrder(cluster_->Channel(node), order_id, /*wait_ms=*/5000);
          *detail = order.ok() ? v1::OrderStatus_Name(order->status()) : order.status().ToString();
          return order.ok() && order->status() != v1::ORDER_STATUS_PENDING;
        });
    if (!s.ok()) return s;
    return order;
  }

  absl::StatusOr<v1::CouponRequest> SettledCoupon(int node, const std::string& request_id) {
    absl::StatusOr<v1::CouponRequest> request = absl::UnknownError("not asked");
    const absl::Status s = rpc::WaitFor(
        absl::StrCat("coupon request ", request_id, " decided on ", cluster_->node_id(node)),
        kSettleTimeout, [&](std::string* detail) {
          request = rpc::GetCouponRequest(cluster_->Channel(node), request_id, /*wait_ms=*/5000);
          *detail = request.ok() ? v1::CouponRequestStatus_Name(request->status())
                                 : request.status().ToString();
          return request.ok() && request->status() != v1::COUPON_REQUEST_STATUS_PENDING;
        });
    if (!s.ok()) return s;
    return request;
  }

  // Stock and a campaign, created on n1 and waited for on every node.
  void Seed() {
    const absl::Status stock = rpc::AdjustStock(cluster_->Channel(0), "ops-seed", "ops-sku", 100);
    ASSERT_TRUE(stock.ok()) << stock;
    const absl::Status campaign =
        rpc::CreateCampaign(cluster_->Channel(0), "ops-campaign", "OPSFLASH", 10);
    ASSERT_TRUE(campaign.ok()) << campaign;
    const absl::Status seen = rpc::WaitFor(
        "stock ops-sku and campaign OPSFLASH on every node", kSettleTimeout,
        [&](std::string* detail) {
          for (int i : All()) {
            absl::StatusOr<v1::Stock> s = rpc::GetStock(cluster_->Channel(i), "ops-sku");
            absl::StatusOr<v1::Campaign> c = rpc::GetCampaign(cluster_->Channel(i), "OPSFLASH");
            if (!s.ok() || s->available() < 100 || !c.ok()) {
              *detail = absl::StrCat(cluster_->node_id(i), ": stock ",
                                     s.ok() ? absl::StrCat(s->available()) : s.status().ToString(),
                                     ", campaign ", c.ok() ? "ok" : c.status().ToString());
              return false;
            }
          }
          return true;
        });
    ASSERT_TRUE(seen.ok()) << seen;
  }

  // Orders (confirmed, and one cancelled for want of stock), coupons and a
  // NOT_FOUND call, spread over the nodes; each read on the other node.
  void DriveTraffic(const std::string& round, int orders) {
    const int n = cluster_->size();
    for (int i = 0; i < orders; ++i) {
      auto placed = rpc::PlaceOrder(cluster_->Channel(i % n), absl::StrCat("ops-", round, "-", i),
                                    "ops-user", {{"ops-sku", 1}});
      ASSERT_TRUE(placed.ok()) << placed.status();
      auto settled = SettledOrder((i + 1) % n, placed->order_id());
      ASSERT_TRUE(settled.ok()) << settled.status();
      EXPECT_EQ(settled->status(), v1::ORDER_STATUS_CONFIRMED) << placed->order_id();
    }
    auto doomed = rpc::PlaceOrder(cluster_->Channel(1 % n), absl::StrCat("ops-", round, "-doomed"),
                                  "ops-user", {{"ops-no-stock", 1}});
    ASSERT_TRUE(doomed.ok()) << doomed.status();
    for (int i = 0; i < 2; ++i) {
      const std::string id = absl::StrCat("ops-coupon-", round, "-", i);
      auto requested = rpc::RequestCoupon(cluster_->Channel(i % n), id,
                                          absl::StrCat("user-", round, "-", i), "OPSFLASH");
      ASSERT_TRUE(requested.ok()) << requested.status();
      auto coupon = SettledCoupon((i + 1) % n, id);
      ASSERT_TRUE(coupon.ok()) << coupon.status();
      EXPECT_EQ(coupon->status(), v1::COUPON_REQUEST_STATUS_ISSUED) << id;
    }
    auto cancelled = SettledOrder(0, doomed->order_id());
    ASSERT_TRUE(cancelled.ok()) << cancelled.status();
    EXPECT_EQ(cancelled->status(), v1::ORDER_STATUS_CANCELLED);
    for (int i : All()) {
      auto missing = rpc::GetOrder(cluster_->Channel(i), absl::StrCat("o-does-not-exist-", round));
      EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
    }
  }

  // Waits until Prometheus has scraped `promql` with at least `value`.
  void AwaitScraped(const std::string& promql, double value) {
    const std::string query = absl::StrCat(promql, " >= ", value);
    auto seen = EventuallyHasData(*prom_, query, kDataTimeout);
    ASSERT_TRUE(seen.ok()) << seen.status();
    ASSERT_TRUE(*seen) << "Prometheus never saw " << query << "\n" << prom_->LogTail();
  }

  Dashboard dashboard_;
  std::unique_ptr<Cluster> cluster_;
  std::unique_ptr<RulesPrometheus> prom_;
};

TEST_F(OpsLiveClusterTest, EveryPanelAndRuleExpressionWorksAgainstALiveCluster) {
  // Two rounds of traffic, each seen by Prometheus, so every rate over 1m
  // has an increase inside its window.
  ASSERT_NO_FATAL_FAILURE(Seed());
  ASSERT_NO_FATAL_FAILURE(DriveTraffic("one", 4));
  const std::string placed =
      R"(sum(surge_grpc_server_handled_total{method="surge.v1.OrderService/PlaceOrder",code="OK"}))";
  ASSERT_NO_FATAL_FAILURE(AwaitScraped(placed, 5));
  ASSERT_NO_FATAL_FAILURE(DriveTraffic("two", 4));

  // One dead letter: garbage produced straight into surge.coupons; the
  // coupons decider owning its partition dead-letters it.
  const absl::Status poison =
      ProduceOne(cluster_->bootstrap(), kafka::kCouponsTopic, "OPSFLASH", "not a protobuf");
  ASSERT_TRUE(poison.ok()) << poison;
  ASSERT_NO_FATAL_FAILURE(AwaitScraped(placed, 10));
  ASSERT_NO_FATAL_FAILURE(
      AwaitScraped(R"(sum(surge_projection_dead_lettered_total{topic="surge.coupons"}))", 1));

  // Template variables: label_values(...) must list every node.
  for (const DashboardVariable& v : dashboard_.variables) {
    if (v.type != "query") continue;
    auto expanded = ExpandVariables(VariableQueryAsPromql(v.query), dashboard_);
    ASSERT_TRUE(expanded.ok()) << expanded.status();
    auto has = EventuallyHasData(*prom_, *expanded, kDataTimeout);
    ASSERT_TRUE(has.ok()) << "variable $" << v.name << ": " << *expanded << ": " << has.status();
    EXPECT_TRUE(*has) << "variable $" << v.name << " lists nothing: " << *expanded;
  }

  // Every panel query parses and returns numbers, [cluster-only] included.
  int with_data = 0;
  int cluster_only_with_data = 0;
  std::set<std::pair<std::string, std::string>> single_node_only_seen;
  for (const PanelTarget& t : dashboard_.targets) {
    const std::string where =
        absl::StrCat("panel ", t.panel_id, " \"", t.panel_title, "\" query ", t.ref_id, ": ");
    auto expr = ExpandVariables(t.expr, dashboard_);
    ASSERT_TRUE(expr.ok()) << where << expr.status();
    auto parsed = prom_->Query(*expr);
    EXPECT_TRUE(parsed.ok()) << where << *expr << "\n" << parsed.status();
    if (!parsed.ok()) continue;
#ifndef SURGE_EXPECT_JEMALLOC
    if (IsJemallocOnly(*expr)) continue;  // exported on a jemalloc build only
#endif
    if (auto it = SingleNodeOnlyPanels().find({t.panel_title, t.ref_id});
        it != SingleNodeOnlyPanels().end()) {
      single_node_only_seen.insert(it->first);
      EXPECT_EQ(parsed->non_nan_samples, 0)
          << where << "listed as single-node only (reads " << it->second
          << ") but has data on a cluster: take it off the list\n"
          << parsed->body;
      continue;
    }
    auto has = EventuallyHasData(*prom_, *expr, kDataTimeout);
    ASSERT_TRUE(has.ok()) << where << has.status();
    EXPECT_TRUE(*has) << where << "no data within " << absl::FormatDuration(kDataTimeout)
                      << " on a cluster: " << *expr
                      << "\nlast answer: " << prom_->Query(*expr)->body;
    if (*has) {
      ++with_data;
      if (t.cluster_only) ++cluster_only_with_data;
    }
  }
  std::vector<std::string> excused;
  for (const auto& [panel, why] : SingleNodeOnlyPanels()) {
    EXPECT_TRUE(single_node_only_seen.contains(panel))
        << "SingleNodeOnlyPanels() lists \"" << panel.first << "\" query " << panel.second
        << ", which the dashboard does not have";
    excused.push_back(absl::StrCat("\"", panel.first, "\" ", panel.second, " (", why, ")"));
  }
  // Listed so a reader of the test log sees what a cluster cannot fill.
  std::cout << "single-node-only panel queries (empty on a cluster): "
            << absl::StrJoin(excused, ", ") << "\n";
  EXPECT_GE(with_data, 35) << "fewer panel queries with data than expected";
  EXPECT_GE(cluster_only_with_data, 5) << "the [cluster-only] panels did not all show data";

  // Every rule loaded and evaluated without error; what it reads exists.
  auto rule_file = ReadTextFile(OpsPath("prometheus/alerts.yml"));
  ASSERT_TRUE(rule_file.ok()) << rule_file.status();
  auto evaluated = EvaluatedRules(*prom_, kDataTimeout);
  ASSERT_TRUE(evaluated.ok()) << evaluated.status();
  const std::vector<LoadedRule> rules = *std::move(evaluated);
  ASSERT_EQ(static_cast<int>(rules.size()), RulesInFile(*rule_file))
      << "Prometheus loaded another number of rules than the file has\n"
      << prom_->LogTail();
  int cluster_rules = 0;
  std::vector<std::string> single_node_only_rules;
  for (const LoadedRule& rule : rules) {
    const std::string where = absl::StrCat(rule.type, " rule ", rule.name, ": ");
    EXPECT_EQ(rule.health, "ok") << where << rule.last_error;
    auto parsed = prom_->Query(rule.query);
    EXPECT_TRUE(parsed.ok()) << where << rule.query << "\n" << parsed.status();
    if (rule.type == "alerting") {
      for (const char* annotation : {"summary", "runbook"}) {
        auto it = rule.annotations.find(annotation);
        EXPECT_TRUE(it != rule.annotations.end() && !it->second.empty())
            << where << "no " << annotation << " annotation";
      }
    }
    if (rule.cluster_only) ++cluster_rules;
    const std::vector<std::string> metrics = MetricNames(rule.query);
    EXPECT_FALSE(metrics.empty()) << where << rule.query;
    bool single_node_only = !metrics.empty();
    for (const std::string& metric : metrics) {
      EXPECT_EQ(IsClusterMetric(metric), rule.cluster_only)
          << where << (rule.cluster_only ? "a scope: cluster rule reads " : "reads ") << metric;
      const std::string query = absl::StrCat("count({__name__=\"", metric, "\"})");
      if (auto it = SingleNodeOnlyMetrics().find(metric); it != SingleNodeOnlyMetrics().end()) {
        auto has = prom_->Query(query);
        ASSERT_TRUE(has.ok()) << has.status();
        EXPECT_EQ(has->non_nan_samples, 0) << where << metric << " is listed as single-node only ("
                                           << it->second << ") but a cluster node exports it";
        continue;
      }
      single_node_only = false;
      // A renamed metric would leave the rule silently never firing.
      auto has = EventuallyHasData(*prom_, query, kDataTimeout);
      ASSERT_TRUE(has.ok()) << has.status();
      EXPECT_TRUE(*has) << where << "reads " << metric << ", which no cluster node exports";
    }
    if (single_node_only) {
      single_node_only_rules.push_back(rule.name);
      continue;
    }
    if (rule.type == "recording") {
      auto has = EventuallyHasData(*prom_, rule.name, kDataTimeout);
      ASSERT_TRUE(has.ok()) << has.status();
      EXPECT_TRUE(*has) << where << "records nothing on a cluster";
    }
  }
  EXPECT_GT(cluster_rules, 0) << "no scope: cluster rules in the file";
  std::cout << "single-node-only rules (they evaluate, and read only metrics a cluster node "
               "does not export): "
            << absl::StrJoin(single_node_only_rules, ", ") << "\n";

  // The dead letter fires its alert, and nothing else fires.
  auto fired = EventuallyHasData(
      *prom_, R"(ALERTS{alertname="SurgeDeadLetters",alertstate="firing",topic="surge.coupons"})",
      kDataTimeout);
  ASSERT_TRUE(fired.ok()) << fired.status();
  EXPECT_TRUE(*fired) << "SurgeDeadLetters did not fire\n" << prom_->LogTail();
  auto others = prom_->Query(R"(ALERTS{alertstate="firing",alertname!="SurgeDeadLetters"})");
  ASSERT_TRUE(others.ok()) << others.status();
  EXPECT_EQ(others->samples, 0) << "alerts firing on a healthy cluster: " << others->body;
}

}  // namespace
}  // namespace surge::testing
