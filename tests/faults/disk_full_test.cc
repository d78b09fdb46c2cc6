// Disk full at the server level: surge-server's data dir lives on a 16 MiB
// tmpfs. Commands are appended until the disk refuses writes; then every
// command must fail fast with UNAVAILABLE (no hang, no crash), the log must
// stay readable with every acknowledged command in it, and once the tmpfs
// is grown the server must accept commands again. Skipped where mounting a
// tmpfs is not allowed.
#include <atomic>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/faults/tmpfs_mount.h"
#include "tests/pipeline/pipeline_test_util.h"
#include "tests/support/temp_dir.h"

namespace surge::faults {
namespace {

using testing::PipelineClient;
using testing::ServerProcess;

constexpr uint64_t kSmall = 16 << 20;
constexpr uint64_t kBig = 64 << 20;
constexpr int kFillThreads = 3;
constexpr int kLinesPerOrder = 100;  // the most an order may have

// A 128-byte SKU (the longest id) so each order is ~50 KB of events.
std::string FillSku(int line) {
  std::string sku = absl::StrCat("fill-sku-", line, "-");
  sku.resize(128, 'x');
  return sku;
}

std::vector<std::pair<std::string, int64_t>> BigOrderLines() {
  std::vector<std::pair<std::string, int64_t>> lines;
  for (int i = 0; i < kLinesPerOrder; ++i) lines.emplace_back(FillSku(i), 1);
  return lines;
}

struct FillResult {
  absl::Mutex mu;
  std::set<std::string> acked_orders ABSL_GUARDED_BY(mu);
  std::vector<absl::Status> failures ABSL_GUARDED_BY(mu);
  absl::Duration slowest_failure ABSL_GUARDED_BY(mu);
};

TEST(DiskFullTest, FullDiskRefusesWithUnavailableKeepsTheLogAndRecoversWhenSpaceReturns) {
  testing::TempDir dir;
  TmpfsMount small;  // declared before the server: unmounted after it dies
  const absl::Status mounted = small.Mount(dir.Path("small"), kSmall);
  if (!mounted.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << mounted;
  const std::string data_dir = small.path() + "/data";

  auto started = ServerProcess::Start({.flags = {absl::StrCat("--data_dir=", data_dir)}});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);

  // Fill the disk from a few clients until commands are refused.
  FillResult fill;
  std::atomic<bool> refused{false};
  const auto lines = BigOrderLines();
  const absl::Time fill_deadline = absl::Now() + absl::Seconds(90);
  std::vector<std::thread> fillers;
  for (int t = 0; t < kFillThreads; ++t) {
    fillers.emplace_back([&, t] {
      PipelineClient client(*server);
      for (int i = 0; !refused.load() && absl::Now() < fill_deadline; ++i) {
        const absl::Time begin = absl::Now();
        auto placed = client.PlaceOrder(absl::StrCat("fill-", t, "-", i), "filler", lines);
        absl::MutexLock lock(&fill.mu);
        if (placed.ok()) {
          fill.acked_orders.insert(placed->order_id());
          continue;
        }
        fill.failures.push_back(placed.status());
        fill.slowest_failure = std::max(fill.slowest_failure, absl::Now() - begin);
        refused.store(true);
      }
    });
  }
  for (auto& t : fillers) t.join();

  std::set<std::string> acked;
  {
    absl::MutexLock lock(&fill.mu);
    acked = fill.acked_orders;
    ASSERT_FALSE(fill.failures.empty())
        << "the disk never filled: " << acked.size() << " orders acknowledged in 90 s";
    for (const absl::Status& failure : fill.failures) {
      EXPECT_EQ(failure.code(), absl::StatusCode::kUnavailable) << failure;
    }
    EXPECT_LT(fill.slowest_failure, absl::Seconds(10)) << "a refused command hung";
    std::printf("[ info ] %zu orders acknowledged before the disk filled; refusal: %s\n",
                acked.size(), fill.failures.front().ToString().c_str());
  }
  ASSERT_FALSE(acked.empty()) << "nothing fit on the disk at all";

  // While full: still serving, every command refused fast with UNAVAILABLE.
  PipelineClient client(*server);
  ASSERT_TRUE(server->IsServing()) << "server died on a full disk\n" << server->LogTail();
  for (int i = 0; i < 3; ++i) {
    const absl::Time begin = absl::Now();
    auto placed = client.PlaceOrder(absl::StrCat("while-full-", i), "filler", {{FillSku(0), 1}});
    EXPECT_EQ(placed.status().code(), absl::StatusCode::kUnavailable) << placed.status();
    EXPECT_LT(absl::Now() - begin, absl::Seconds(10)) << "a command hung on the full disk";
  }

  // The log head stays readable and holds every acknowledged order.
  auto head_while_full = server->HeadPosition();
  ASSERT_TRUE(head_while_full.ok()) << head_while_full.status();
  auto placed_in_log = [&] {
    std::set<std::string> placed;
    for (const v1::Event& e : client.ReadAll()) {
      if (e.has_order_placed()) placed.insert(e.order_placed().order_id());
    }
    return placed;
  };
  {
    const std::set<std::string> logged = placed_in_log();
    for (const std::string& id : acked) EXPECT_TRUE(logged.count(id)) << id << " lost";
  }

  // Space comes back.
  ASSERT_TRUE(small.Resize(kBig).ok());
  auto try_command = [&](const std::string& id) {
    auto placed = client.PlaceOrder(id, "after", {{FillSku(1), 1}});
    if (placed.ok()) acked.insert(placed->order_id());
    return placed.ok();
  };
  int attempt = 0;
  const bool recovered_live = testing::Eventually(
      [&] { return try_command(absl::StrCat("after-grow-", attempt++)); }, absl::Seconds(20));
  std::printf("[ info ] after growing the disk: %s\n",
              recovered_live ? "the running server accepts commands again"
                             : "the server needed a restart");
  if (!recovered_live) {
    server->Kill();
    ASSERT_TRUE(server->Restart().ok()) << server->LogTail();
    ASSERT_TRUE(try_command("after-restart")) << server->LogTail();
  }

  // Nothing acknowledged was lost, and the saga settles all of it (no stock
  // exists for the fill SKUs, so every order ends CANCELLED).
  const std::set<std::string> logged = placed_in_log();
  for (const std::string& id : acked) EXPECT_TRUE(logged.count(id)) << id << " lost";
  const absl::Time settle_deadline = absl::Now() + absl::Seconds(60);
  for (const std::string& id : acked) {
    const absl::Duration left = std::max(settle_deadline - absl::Now(), absl::Seconds(1));
    auto order = client.SettledOrder(id, std::min(left, absl::Seconds(20)));
    ASSERT_TRUE(order.ok()) << id << ": " << order.status();
    ASSERT_EQ(order->status(), v1::ORDER_STATUS_CANCELLED)
        << id << " did not settle after the disk recovered\n" << server->LogTail();
  }
  EXPECT_TRUE(server->Terminate().ok()) << server->LogTail();
}

}  // namespace
}  // namespace surge::faults
