// A real Prometheus (Debian's package) scrapes a real surge-server on
// loopback; the test reads the results back through Prometheus' HTTP API.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/metrics/live_server_util.h"
#include "tests/metrics/prometheus_process.h"
#include "tests/support/server_process.h"

namespace surge::testing {
namespace {

constexpr char kPlaced[] =
    R"(surge_grpc_server_handled_total{method="surge.v1.OrderService/PlaceOrder",code="OK"})";

// Polls Prometheus until `promql` has the value `want` (Prometheus scrapes
// on its own schedule; there is nothing to be notified by) or the deadline.
void ExpectEventually(PrometheusProcess& prom, const std::string& promql,
                      std::optional<double> want, absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<std::optional<double>> got;
  while (absl::Now() < deadline) {
    got = prom.QueryScalar(promql);
    if (got.ok() && *got == want) return;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ADD_FAILURE() << promql << ": want " << (want ? absl::StrCat(*want) : "no sample") << ", last "
                << (!got.ok()          ? got.status().ToString()
                    : got->has_value() ? absl::StrCat(**got)
                                       : std::string("no sample"))
                << " after " << absl::FormatDuration(timeout) << "\n"
                << prom.LogTail();
}

TEST(PrometheusScrapeTest, PrometheusSeesTheTargetUpAndOrderMetricsMove) {
  if (!PrometheusProcess::Installed()) {
    GTEST_SKIP() << "prometheus not installed (scripts/install-deps.sh installs it)";
  }
  auto server = ServerProcess::Start({});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->metrics_port(), 0);
  auto prom = PrometheusProcess::Start({.target_port = (*server)->metrics_port()});
  ASSERT_TRUE(prom.ok()) << prom.status();

  // Scraped before any order: the target is up and nothing was placed yet.
  ExpectEventually(**prom, R"(up{job="surge"})", 1);
  ExpectEventually(**prom, "surge_log_head_position", 0);
  absl::StatusOr<std::string> targets = (*prom)->Targets();
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_NE(targets->find(absl::StrCat("127.0.0.1:", (*server)->metrics_port())), std::string::npos)
      << *targets;
  EXPECT_NE(targets->find(R"("health":"up")"), std::string::npos) << *targets;
  // The PlaceOrder series does not exist before the first call.
  ExpectEventually(**prom, kPlaced, std::nullopt);

  // 5 orders that fit the stock and 1 that cannot (no stock of sku-none).
  ASSERT_TRUE(AddStock(**server, "sku-metrics", 100).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = PlaceOrder(**server, absl::StrCat("prom-ok-", i), "sku-metrics", 2);
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  auto doomed = PlaceOrder(**server, "prom-doomed", "sku-none", 1);
  ASSERT_TRUE(doomed.ok()) << doomed.status();
  for (const std::string& id : ids) {
    auto order = SettledOrder(**server, id);
    ASSERT_TRUE(order.ok()) << order.status();
    EXPECT_EQ(order->status(), v1::ORDER_STATUS_CONFIRMED) << id;
  }
  auto cancelled = SettledOrder(**server, *doomed);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->status(), v1::ORDER_STATUS_CANCELLED);

  ExpectEventually(**prom, kPlaced, 6);
  ExpectEventually(**prom, R"(surge_orders{status="CONFIRMED"})", 5);
  ExpectEventually(**prom, R"(surge_orders{status="CANCELLED"})", 1);
  ExpectEventually(**prom, R"(surge_orders{status="PENDING"})", 0);
  (*prom)->Stop();
}

}  // namespace
}  // namespace surge::testing
