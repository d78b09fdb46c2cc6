// SIGKILL in the middle of a flow (embedded broker): after restart every
// acknowledged order and coupon request settles, exactly once, nothing lost.
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/pipeline/pipeline_test_util.h"

namespace surge::testing {
namespace {

constexpr int kScarce = 40;       // units of sku-scarce: many orders get cancelled
constexpr int kCoupons = 150;     // coupons of campaign CRASH
constexpr int kUsers = 200;

// A command the client sent: acknowledged (with its answer) or not known.
struct Sent {
  std::string request_id;
  bool is_order = false;
  std::string sku;      // orders
  std::string user;
  std::string order_id; // filled from the (possibly retried) answer
  bool acked = false;
};

TEST(CrashRecoveryTest, AcknowledgedCommandsSettleExactlyOnceAcrossKills) {
  auto started = ServerProcess::Start({});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  PipelineClient client(*server);
  client.AdjustStock("sku-plenty", 100000);
  client.AdjustStock("sku-scarce", kScarce);
  client.CreateCampaign("CRASH", kCoupons);

  std::mutex mu;
  std::vector<Sent> sent;
  std::atomic<bool> stop{false};
  std::atomic<int> acks{0};
  std::atomic<int> next{0};
  auto load = [&] {
    while (!stop.load()) {
      const int i = next++;
      Sent s;
      s.is_order = i % 2 == 0;
      s.request_id = absl::StrCat(s.is_order ? "o-" : "c-", i);
      s.user = absl::StrCat("u", i % kUsers);
      if (s.is_order) {
        s.sku = i % 4 == 0 ? "sku-scarce" : "sku-plenty";
        auto r = client.PlaceOrder(s.request_id, s.user, {{s.sku, 1}});
        if (r.ok()) {
          s.acked = true;
          s.order_id = r->order_id();
        }
      } else {
        s.acked = client.RequestCoupon(s.request_id, s.user, "CRASH").ok();
      }
      if (s.acked) ++acks;
      std::lock_guard<std::mutex> lock(mu);
      sent.push_back(std::move(s));
    }
  };

  // Two kill cycles, each after a fresh batch of acknowledgements.
  for (int cycle = 0; cycle < 2; ++cycle) {
    stop = false;
    std::vector<std::thread> workers;
    for (int t = 0; t < 8; ++t) workers.emplace_back(load);
    const int target = acks.load() + 300;
    ASSERT_TRUE(Eventually([&] { return acks.load() >= target; }, absl::Seconds(60)))
        << "load made no progress\n" << server->LogTail();
    server->Kill();  // while the workers are still sending
    stop = true;
    for (auto& w : workers) w.join();
    ASSERT_TRUE(server->Restart().ok()) << server->LogTail();
  }

  // A client that did not hear back retries with the same request_id: the
  // idempotency key makes that safe, and gives the definitive answer.
  for (Sent& s : sent) {
    if (s.acked) continue;
    if (s.is_order) {
      auto r = client.PlaceOrder(s.request_id, s.user, {{s.sku, 1}});
      ASSERT_TRUE(r.ok()) << r.status();
      s.order_id = r->order_id();
    } else {
      ASSERT_TRUE(client.RequestCoupon(s.request_id, s.user, "CRASH").ok());
    }
  }

  // Everything settles.
  std::set<std::string> order_ids;
  int64_t confirmed_scarce = 0;
  for (const Sent& s : sent) {
    if (s.is_order) {
      auto order = client.SettledOrder(s.order_id);
      ASSERT_TRUE(order.ok()) << order.status();
      ASSERT_NE(order->status(), v1::ORDER_STATUS_PENDING) << s.order_id << "\n" << server->LogTail();
      EXPECT_TRUE(order_ids.insert(s.order_id).second) << "two requests, one order";
      if (order->status() == v1::ORDER_STATUS_CONFIRMED && s.sku == "sku-scarce") ++confirmed_scarce;
    } else {
      auto answer = client.SettledCouponRequest(s.request_id);
      ASSERT_TRUE(answer.ok()) << answer.status();
      ASSERT_NE(answer->status(), v1::COUPON_REQUEST_STATUS_PENDING) << s.request_id;
    }
  }

  // Exactly once, from the log itself.
  std::map<std::string, int> placed, decided, requested, coupon_decided;
  std::map<std::string, int> issued_per_user;
  int issued = 0;
  for (const v1::Event& e : client.ReadAll()) {
    if (e.has_order_placed()) ++placed[e.order_placed().order_id()];
    if (e.has_order_confirmed()) ++decided[e.order_confirmed().order_id()];
    if (e.has_order_cancelled()) ++decided[e.order_cancelled().order_id()];
    if (e.has_coupon_requested()) ++requested[e.coupon_requested().request_id()];
    if (e.has_coupon_issued()) {
      ++coupon_decided[e.coupon_issued().request_id()];
      ++issued_per_user[e.coupon_issued().user_id()];
      ++issued;
    }
    if (e.has_coupon_rejected()) ++coupon_decided[e.coupon_rejected().request_id()];
  }
  for (const Sent& s : sent) {
    if (s.is_order) {
      EXPECT_EQ(placed[s.order_id], 1) << s.order_id;
      EXPECT_EQ(decided[s.order_id], 1) << s.order_id;
    } else {
      EXPECT_EQ(requested[s.request_id], 1) << s.request_id;
      EXPECT_EQ(coupon_decided[s.request_id], 1) << s.request_id;
    }
  }
  EXPECT_LE(issued, kCoupons);
  for (const auto& [user, n] : issued_per_user) EXPECT_EQ(n, 1) << user;

  // Stock conservation and never negative.
  auto scarce = client.GetStock("sku-scarce");
  ASSERT_TRUE(scarce.ok());
  EXPECT_GE(scarce->available(), 0);
  EXPECT_EQ(scarce->available(), kScarce - confirmed_scarce);
  auto campaign = client.GetCampaign("CRASH");
  ASSERT_TRUE(campaign.ok());
  EXPECT_EQ(campaign->issued(), issued);
  EXPECT_EQ(campaign->remaining(), kCoupons - issued);
}

}  // namespace
}  // namespace surge::testing
