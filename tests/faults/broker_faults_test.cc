// Broker faults under load at the server level: surge-server runs against a
// separate surge-kafka-dev broker whose faults the test injects through its
// stdin control channel while clients place orders and request coupons:
// every broker down for ~3 s, leader moves, injected Produce and Fetch
// errors. Afterwards every acknowledged command has settled exactly once,
// stock is conserved, coupons stay within the campaign, and the relay's lag
// (from /metrics) is back to zero.
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/faults/dev_broker_process.h"
#include "tests/faults/metrics_scrape.h"
#include "tests/pipeline/pipeline_test_util.h"

namespace surge::faults {
namespace {

using testing::PipelineClient;
using testing::ServerProcess;

constexpr int kSkus = 4;
constexpr int64_t kInitialStock = 300;
constexpr int64_t kCoupons = 100;
constexpr int kUsers = 150;
constexpr int kLoadThreads = 4;
constexpr char kCampaign[] = "faults-flash";

std::string Sku(int i) { return absl::StrCat("faults-sku-", i); }

// What the clients were told: the commands acknowledged during the faults.
struct Acked {
  absl::Mutex mu;
  std::map<std::string, std::pair<std::string, int64_t>> orders ABSL_GUARDED_BY(mu);  // id -> line
  std::set<std::string> coupon_requests ABSL_GUARDED_BY(mu);
  int refused ABSL_GUARDED_BY(mu) = 0;  // commands answered with an error
};

// Drives orders and coupon requests until `stop`.
void Load(ServerProcess& server, int thread, const std::atomic<bool>& stop, Acked& acked) {
  PipelineClient client(server);
  for (int i = 0; !stop.load(); ++i) {
    const std::string sku = Sku((thread + i) % kSkus);
    const int64_t quantity = 1 + (i % 3);
    const std::string user = absl::StrCat("user-", (thread * 37 + i) % kUsers);
    auto placed =
        client.PlaceOrder(absl::StrCat("faults-order-", thread, "-", i), user, {{sku, quantity}});
    const std::string coupon_request = absl::StrCat("faults-coupon-", thread, "-", i);
    auto requested = client.RequestCoupon(coupon_request, user, kCampaign);
    // Paces the load so it lasts through the whole fault schedule.
    absl::SleepFor(absl::Milliseconds(10));
    absl::MutexLock lock(&acked.mu);
    if (placed.ok()) {
      acked.orders[placed->order_id()] = {sku, quantity};
    } else {
      ++acked.refused;
    }
    if (requested.ok()) {
      acked.coupon_requests.insert(coupon_request);
    } else {
      ++acked.refused;
    }
    // Bounds the test's work (and its settlement checks) on a fast machine.
    if (acked.orders.size() >= 4000) break;
  }
}

// Pause between injected faults: this is the fault schedule, not a wait for
// some state (the load threads keep running meanwhile).
void Hold(absl::Duration d) { absl::SleepFor(d); }

TEST(BrokerFaultsTest, AcknowledgedCommandsSettleOnceThroughOutagesLeaderMovesAndErrors) {
  DevBrokerProcess broker;
  ASSERT_TRUE(broker.Start(SURGE_KAFKA_DEV_BIN).ok());
  auto started =
      ServerProcess::Start({.flags = {absl::StrCat("--kafka_brokers=", broker.bootstrap_servers()),
                                      "--durability=async"}});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  PipelineClient setup(*server);
  for (int i = 0; i < kSkus; ++i) setup.AdjustStock(Sku(i), kInitialStock);
  setup.CreateCampaign(kCampaign, kCoupons);

  Acked acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int t = 0; t < kLoadThreads; ++t) {
    load.emplace_back([&, t] { Load(*server, t, stop, acked); });
  }

  auto acked_orders = [&] {
    absl::MutexLock lock(&acked.mu);
    return acked.orders.size();
  };
  // The fault schedule.
  Hold(absl::Milliseconds(500));
  ASSERT_TRUE(broker.Command("down all").ok());
  const size_t at_outage = acked_orders();
  Hold(absl::Seconds(3));
  // Commands are durable in the log: a broker outage must not stop them.
  EXPECT_GT(acked_orders(), at_outage) << "no command acknowledged while the brokers were down";
  ASSERT_TRUE(broker.Command("up all").ok());
  Hold(absl::Seconds(1));
  for (const char* move :
       {"leader surge.stock 0 2", "leader surge.stock 1 3", "leader surge.orders 0 3",
        "leader surge.orders 2 1", "leader surge.coupons 0 2", "leader surge.coupons 3 3"}) {
    ASSERT_TRUE(broker.Command(move).ok()) << move;
  }
  Hold(absl::Seconds(1));
  // Produce: NOT_LEADER_FOR_PARTITION (6) then REQUEST_TIMED_OUT (7), both
  // retriable for the idempotent producer.
  ASSERT_TRUE(broker.Command("errors 0 6 15").ok());
  ASSERT_TRUE(broker.Command("errors 0 7 15").ok());
  Hold(absl::Seconds(1));
  // Fetch: NOT_LEADER_FOR_PARTITION and UNKNOWN_TOPIC_OR_PARTITION (3).
  ASSERT_TRUE(broker.Command("errors 1 6 20").ok());
  ASSERT_TRUE(broker.Command("errors 1 3 10").ok());
  Hold(absl::Seconds(1));
  // A second, shorter outage of one broker only.
  ASSERT_TRUE(broker.Command("down 2").ok());
  Hold(absl::Seconds(1));
  ASSERT_TRUE(broker.Command("up 2").ok());
  // Answered calls, refused ones included: right after a fault, admission
  // (--max_decision_delay_ms) may refuse while the backlog is decided.
  auto answered = [&] {
    absl::MutexLock lock(&acked.mu);
    return acked.orders.size() + acked.coupon_requests.size() + acked.refused;
  };
  const size_t at_last_fault = answered();
  Hold(absl::Milliseconds(500));
  EXPECT_GT(answered(), at_last_fault) << "the load ended before the faults did";
  stop.store(true);
  for (auto& t : load) t.join();
  // The control channel answers errors too (the broker is still alive).
  EXPECT_FALSE(broker.Command("down 99").ok());
  EXPECT_FALSE(broker.Command("bogus").ok());

  std::map<std::string, std::pair<std::string, int64_t>> orders;
  std::set<std::string> coupon_requests;
  {
    absl::MutexLock lock(&acked.mu);
    orders = acked.orders;
    coupon_requests = acked.coupon_requests;
    std::printf("[ info ] acknowledged %zu orders, %zu coupon requests; %d refused\n",
                orders.size(), coupon_requests.size(), acked.refused);
  }
  ASSERT_GT(orders.size(), 50u) << "too little load got through\n" << server->LogTail();

  // Every acknowledged command settles.
  const absl::Time settle_deadline = absl::Now() + absl::Seconds(60);
  PipelineClient client(*server);
  std::map<std::string, int64_t> confirmed_per_sku;
  for (const auto& [order_id, line] : orders) {
    const absl::Duration left = std::max(settle_deadline - absl::Now(), absl::Seconds(1));
    auto order = client.SettledOrder(order_id, std::min(left, absl::Seconds(20)));
    ASSERT_TRUE(order.ok()) << order_id << ": " << order.status();
    ASSERT_NE(order->status(), v1::ORDER_STATUS_PENDING) << order_id << " never settled\n"
                                                         << server->LogTail();
    if (order->status() == v1::ORDER_STATUS_CONFIRMED) confirmed_per_sku[line.first] += line.second;
  }
  int issued = 0;
  for (const std::string& request_id : coupon_requests) {
    const absl::Duration left = std::max(settle_deadline - absl::Now(), absl::Seconds(1));
    auto answer = client.SettledCouponRequest(request_id, std::min(left, absl::Seconds(20)));
    ASSERT_TRUE(answer.ok()) << request_id << ": " << answer.status();
    ASSERT_NE(answer->status(), v1::COUPON_REQUEST_STATUS_PENDING)
        << request_id << " never settled\n"
        << server->LogTail();
    if (answer->status() == v1::COUPON_REQUEST_STATUS_ISSUED) ++issued;
  }

  // Exactly once, from the log: one decision per order and per request.
  std::map<std::string, int> order_decisions, request_decisions, stock_decisions;
  std::map<std::string, int> coupons_per_user;
  for (const v1::Event& e : client.ReadAll()) {
    switch (e.payload_case()) {
      case v1::Event::kOrderConfirmed:
        ++order_decisions[e.order_confirmed().order_id()];
        break;
      case v1::Event::kOrderCancelled:
        ++order_decisions[e.order_cancelled().order_id()];
        break;
      case v1::Event::kStockDecreased:
        ++stock_decisions[e.stock_decreased().order_id()];
        break;
      case v1::Event::kStockDecreaseFailed:
        ++stock_decisions[e.stock_decrease_failed().order_id()];
        break;
      case v1::Event::kCouponIssued:
        ++request_decisions[e.coupon_issued().request_id()];
        ++coupons_per_user[e.coupon_issued().user_id()];
        break;
      case v1::Event::kCouponRejected:
        ++request_decisions[e.coupon_rejected().request_id()];
        break;
      default:
        break;
    }
  }
  for (const auto& [order_id, line] : orders) {
    EXPECT_EQ(order_decisions[order_id], 1) << "decisions for order " << order_id;
    EXPECT_EQ(stock_decisions[order_id], 1) << "stock decisions for order " << order_id;
  }
  for (const std::string& request_id : coupon_requests) {
    EXPECT_EQ(request_decisions[request_id], 1) << "decisions for coupon request " << request_id;
  }

  // Stock conserved and never negative; coupons within the campaign.
  for (int i = 0; i < kSkus; ++i) {
    const int64_t expected = kInitialStock - confirmed_per_sku[Sku(i)];
    EXPECT_GE(expected, 0) << Sku(i);
    EXPECT_TRUE(client.StockBecomes(Sku(i), expected))
        << Sku(i) << " should end at " << expected << ", is "
        << client.GetStock(Sku(i)).value_or(v1::Stock()).available();
  }
  EXPECT_LE(issued, kCoupons);
  for (const auto& [user, count] : coupons_per_user) EXPECT_LE(count, 1) << user;
  auto campaign = client.GetCampaign(kCampaign);
  ASSERT_TRUE(campaign.ok()) << campaign.status();
  EXPECT_EQ(campaign->issued(), issued);
  EXPECT_EQ(campaign->remaining(), kCoupons - issued);

  // The relay caught up: its lag on /metrics is back to zero.
  ASSERT_GT(server->metrics_port(), 0);
  double lag = -1;
  const bool caught_up = testing::Eventually(
      [&] {
        auto body = ScrapeMetrics(server->metrics_port());
        if (!body.ok()) return false;
        auto value = UnlabelledSample(*body, "surge_relay_lag_events");
        lag = value.ok() ? *value : -1;
        return lag == 0;
      },
      absl::Seconds(30));
  EXPECT_TRUE(caught_up) << "surge_relay_lag_events = " << lag;
  if (auto body = ScrapeMetrics(server->metrics_port()); body.ok()) {
    std::printf("[ info ] relay errors %.0f, rewinds %.0f\n",
                UnlabelledSample(*body, "surge_relay_errors_total").value_or(-1),
                UnlabelledSample(*body, "surge_relay_rewinds_total").value_or(-1));
  }
}

}  // namespace
}  // namespace surge::faults
