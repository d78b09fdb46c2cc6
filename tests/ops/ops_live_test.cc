// The dashboard (ops/grafana/surge.json) and the rules
// (ops/prometheus/alerts.yml) against a real Prometheus scraping a real
// surge-server. Orders, coupons, a failed call and one dead letter give every
// metric something to show; then every panel query, every template variable
// and every rule goes through Prometheus' HTTP API:
//   - every expression parses and evaluates;
//   - every panel query returns data (numbers, not only NaN), except the
//     [cluster-only] panels, which a single node cannot fill;
//   - every rule loads, evaluates without error, and the metrics it reads
//     exist on the server (cluster rules: they parse and read only
//     surge_cluster_* metrics);
//   - the dead letter fires SurgeDeadLetters and nothing else fires.
// Expressions are read from the files at run time, so renaming a metric
// without updating the dashboard or the rules fails this test.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/ops/ops_files.h"
#include "tests/ops/rules_prometheus.h"
#include "tests/pipeline/kafka_test_client.h"
#include "tests/pipeline/pipeline_test_util.h"
#include "tests/support/server_process.h"

namespace surge::testing {
namespace {

constexpr absl::Duration kDataTimeout = absl::Seconds(45);

class OpsLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RulesPrometheus::Installed()) {
      GTEST_SKIP() << "prometheus not installed (scripts/install-deps.sh installs it)";
    }
    auto dashboard = LoadDashboard(OpsPath("grafana/surge.json"));
    ASSERT_TRUE(dashboard.ok()) << dashboard.status();
    dashboard_ = *std::move(dashboard);
    ASSERT_FALSE(dashboard_.targets.empty());

    auto server = ServerProcess::Start({});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->metrics_port(), 0);
    auto prom = RulesPrometheus::Start(
        {.target_port = server_->metrics_port(), .rule_files = {OpsPath("prometheus/alerts.yml")}});
    ASSERT_TRUE(prom.ok()) << prom.status();
    prom_ = *std::move(prom);
    client_ = std::make_unique<PipelineClient>(*server_);
  }

  // Orders (confirmed and one cancelled), coupons, a NOT_FOUND call.
  void DriveTraffic(const std::string& round, int orders) {
    for (int i = 0; i < orders; ++i) {
      auto placed =
          client_->PlaceOrder(absl::StrCat("ops-", round, "-", i), "ops-user", {{"ops-sku", 1}});
      ASSERT_TRUE(placed.ok()) << placed.status();
      auto settled = client_->SettledOrder(placed->order_id());
      ASSERT_TRUE(settled.ok()) << settled.status();
      EXPECT_EQ(settled->status(), v1::ORDER_STATUS_CONFIRMED);
    }
    auto doomed = client_->PlaceOrder(absl::StrCat("ops-", round, "-doomed"), "ops-user",
                                      {{"ops-no-stock", 1}});
    ASSERT_TRUE(doomed.ok()) << doomed.status();
    for (int i = 0; i < 2; ++i) {
      const std::string id = absl::StrCat("ops-coupon-", round, "-", i);
      ASSERT_TRUE(
          client_->RequestCoupon(id, absl::StrCat("user-", round, "-", i), "OPSFLASH").ok());
      auto coupon = client_->SettledCouponRequest(id);
      ASSERT_TRUE(coupon.ok()) << coupon.status();
      EXPECT_EQ(coupon->status(), v1::COUPON_REQUEST_STATUS_ISSUED);
    }
    auto cancelled = client_->SettledOrder(doomed->order_id());
    ASSERT_TRUE(cancelled.ok()) << cancelled.status();
    EXPECT_EQ(cancelled->status(), v1::ORDER_STATUS_CANCELLED);
    v1::GetOrderRequest missing;
    missing.set_order_id(absl::StrCat("o-does-not-exist-", round));
    v1::Order order;
    EXPECT_EQ(server_->Orders()->GetOrder(Deadline().get(), missing, &order).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  // Waits until Prometheus has scraped `promql` with at least `value`.
  void AwaitScraped(const std::string& promql, double value) {
    const std::string query = absl::StrCat(promql, " >= ", value);
    auto seen = EventuallyHasData(*prom_, query, kDataTimeout);
    ASSERT_TRUE(seen.ok()) << seen.status();
    ASSERT_TRUE(*seen) << "Prometheus never saw " << query << "\n" << prom_->LogTail();
  }

  Dashboard dashboard_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<RulesPrometheus> prom_;
  std::unique_ptr<PipelineClient> client_;
};

TEST_F(OpsLiveTest, EveryPanelAndRuleExpressionWorksAgainstALiveServer) {
  // Two rounds of traffic, each seen by Prometheus, so every rate over 1m
  // has an increase inside its window (quantiles are numbers, not NaN).
  ASSERT_NO_FATAL_FAILURE(client_->AdjustStock("ops-sku", 100));
  ASSERT_NO_FATAL_FAILURE(client_->CreateCampaign("OPSFLASH", 10));
  ASSERT_NO_FATAL_FAILURE(DriveTraffic("one", 3));
  const std::string placed =
      R"(surge_grpc_server_handled_total{method="surge.v1.OrderService/PlaceOrder",code="OK"})";
  ASSERT_NO_FATAL_FAILURE(AwaitScraped(placed, 4));
  ASSERT_NO_FATAL_FAILURE(DriveTraffic("two", 3));

  // One dead letter: garbage produced straight into surge.coupons.
  auto bootstrap = ReadBootstrapFile(server_->data_dir());
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  ASSERT_TRUE(ProduceOne(*bootstrap, "surge.coupons", "OPSFLASH", "not a protobuf").ok());
  ASSERT_NO_FATAL_FAILURE(AwaitScraped(placed, 8));
  ASSERT_NO_FATAL_FAILURE(
      AwaitScraped(R"(surge_projection_dead_lettered_total{topic="surge.coupons"})", 1));

  // Template variables: label_values(...) must list something.
  for (const DashboardVariable& v : dashboard_.variables) {
    if (v.type != "query") continue;
    auto expanded = ExpandVariables(VariableQueryAsPromql(v.query), dashboard_);
    ASSERT_TRUE(expanded.ok()) << expanded.status();
    auto has = EventuallyHasData(*prom_, *expanded, kDataTimeout);
    ASSERT_TRUE(has.ok()) << "variable $" << v.name << ": " << *expanded << ": " << has.status();
    EXPECT_TRUE(*has) << "variable $" << v.name << " lists nothing: " << *expanded;
  }

  // Every panel query parses; every non-cluster one returns numbers.
  int with_data = 0;
  for (const PanelTarget& t : dashboard_.targets) {
    const std::string where =
        absl::StrCat("panel ", t.panel_id, " \"", t.panel_title, "\" query ", t.ref_id, ": ");
    auto expr = ExpandVariables(t.expr, dashboard_);
    ASSERT_TRUE(expr.ok()) << where << expr.status();
    auto parsed = prom_->Query(*expr);
    EXPECT_TRUE(parsed.ok()) << where << *expr << "\n" << parsed.status();
    if (!parsed.ok() || t.cluster_only) continue;
#ifndef SURGE_EXPECT_JEMALLOC
    if (IsJemallocOnly(*expr)) continue;  // exported on a jemalloc build only
#endif
    auto has = EventuallyHasData(*prom_, *expr, kDataTimeout);
    ASSERT_TRUE(has.ok()) << where << has.status();
    EXPECT_TRUE(*has) << where << "no data within " << absl::FormatDuration(kDataTimeout)
                      << " (a renamed metric or label?): " << *expr
                      << "\nlast answer: " << prom_->Query(*expr)->body;
    if (*has) ++with_data;
  }
  EXPECT_GE(with_data, 30) << "fewer panel queries with data than expected";

  // Every rule loaded and evaluated without error.
  auto rule_file = ReadTextFile(OpsPath("prometheus/alerts.yml"));
  ASSERT_TRUE(rule_file.ok()) << rule_file.status();
  auto evaluated = EvaluatedRules(*prom_, kDataTimeout);
  ASSERT_TRUE(evaluated.ok()) << evaluated.status();
  const std::vector<LoadedRule> rules = *std::move(evaluated);
  ASSERT_EQ(static_cast<int>(rules.size()), RulesInFile(*rule_file))
      << "Prometheus loaded another number of rules than the file has\n"
      << prom_->LogTail();
  std::vector<std::string> cluster_only;
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
    const std::vector<std::string> metrics = MetricNames(rule.query);
    EXPECT_FALSE(metrics.empty()) << where << rule.query;
    for (const std::string& metric : metrics) {
      EXPECT_EQ(IsClusterMetric(metric), rule.cluster_only)
          << where << (rule.cluster_only ? "a scope: cluster rule reads " : "reads ") << metric;
    }
    if (rule.cluster_only) {
      cluster_only.push_back(rule.name);
      continue;
    }
    // The metrics it reads exist (a renamed metric would leave the rule
    // silently never firing).
    for (const std::string& metric : metrics) {
      auto has = EventuallyHasData(*prom_, absl::StrCat("count({__name__=\"", metric, "\"})"),
                                   kDataTimeout);
      ASSERT_TRUE(has.ok()) << has.status();
      EXPECT_TRUE(*has) << where << "reads " << metric << ", which the server does not export";
    }
    if (rule.type == "recording") {
      auto has = EventuallyHasData(*prom_, rule.name, kDataTimeout);
      ASSERT_TRUE(has.ok()) << has.status();
      EXPECT_TRUE(*has) << where << "records nothing";
    }
  }
  // Listed so a reader of the test log sees what a single node cannot check.
  std::cout << "cluster-only rules (parsed, no data on a single node): "
            << absl::StrJoin(cluster_only, ", ") << "\n";
  EXPECT_FALSE(cluster_only.empty());

  // The dead letter fires its alert, and nothing else fires.
  auto fired = EventuallyHasData(
      *prom_, R"(ALERTS{alertname="SurgeDeadLetters",alertstate="firing",topic="surge.coupons"})",
      kDataTimeout);
  ASSERT_TRUE(fired.ok()) << fired.status();
  EXPECT_TRUE(*fired) << "SurgeDeadLetters did not fire\n" << prom_->LogTail();
  auto others = prom_->Query(R"(ALERTS{alertstate="firing",alertname!="SurgeDeadLetters"})");
  ASSERT_TRUE(others.ok()) << others.status();
  EXPECT_EQ(others->samples, 0) << "alerts firing on a healthy server: " << others->body;
  prom_->Stop();
}

}  // namespace
}  // namespace surge::testing
