// Disk full at the server level: surge-server's data dir lives on a 16 MiB
// tmpfs. Commands are appended until the disk refuses writes; then every
// command must fail fast with UNAVAILABLE (no hang, no crash), the log must
// stay readable with every acknowledged command in it, and once the tmpfs
// is grown the server must accept commands again. Skipped where mounting a
// tmpfs is not allowed.
//
// Recovery needs a restart: after a failed write the event store refuses
// every write until it is reopened (eventstore/internal/rocks_db.cc), since
// RocksDB's in-memory state after a failed WAL append is not trusted. The
// test checks that a restart on the same (now bigger) disk recovers every
// acknowledged command; it also accepts a live recovery should the store
// ever learn it.
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

// Long ids (128 bytes, the most allowed) so each restock is ~1 KB on disk.
// Restocks, not orders: their projection writes are small, so the disk has
// room again after it grows (a 100-line order rewrites its saga state per
// line, which would fill the bigger disk too).
std::string Padded(const std::string& prefix) {
  std::string id = prefix;
  id.resize(128, 'x');
  return id;
}
std::string FillSku(int thread) { return Padded(absl::StrCat("fill-sku-", thread, "-")); }

absl::Status AdjustStock(ServerProcess& server, const std::string& request_id,
                         const std::string& sku) {
  v1::AdjustStockRequest request;
  request.set_request_id(request_id);
  request.set_sku(sku);
  request.set_delta(1);
  v1::AdjustStockResponse response;
  grpc::Status status =
      server.Inventory()->AdjustStock(testing::Deadline().get(), request, &response);
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

struct FillResult {
  absl::Mutex mu;
  std::set<std::string> acked ABSL_GUARDED_BY(mu);  // request ids
  std::vector<absl::Status> failures ABSL_GUARDED_BY(mu);
  absl::Duration slowest_failure ABSL_GUARDED_BY(mu);
};

TEST(DiskFullTest, FullDiskRefusesWithUnavailableKeepsTheLogAndRecoversWhenSpaceReturns) {
  testing::TempDir dir;
  TmpfsMount small;  // declared before the server: unmounted after it dies
  const absl::Status mounted = small.Mount(dir.Path("small"), kSmall);
  if (!mounted.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << mounted;
  const std::string data_dir = small.path() + "/data";

  auto started = ServerProcess::Start({.flags = {absl::StrCat("--data_dir=", data_dir)},
                                       .keep_dir = getenv("SURGE_FAULTS_KEEP") != nullptr});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);

  // Fill the disk from a few clients until commands are refused.
  FillResult fill;
  std::atomic<bool> refused{false};
  const absl::Time fill_deadline = absl::Now() + absl::Seconds(90);
  std::vector<std::thread> fillers;
  for (int t = 0; t < kFillThreads; ++t) {
    fillers.emplace_back([&, t] {
      for (int i = 0; !refused.load() && absl::Now() < fill_deadline; ++i) {
        const std::string request_id = Padded(absl::StrCat("fill-", t, "-", i, "-"));
        const absl::Time begin = absl::Now();
        absl::Status status = AdjustStock(*server, request_id, FillSku(t));
        absl::MutexLock lock(&fill.mu);
        if (status.ok()) {
          fill.acked.insert(request_id);
          continue;
        }
        fill.failures.push_back(status);
        fill.slowest_failure = std::max(fill.slowest_failure, absl::Now() - begin);
        refused.store(true);
      }
    });
  }
  for (auto& t : fillers) t.join();

  std::set<std::string> acked;
  {
    absl::MutexLock lock(&fill.mu);
    acked = fill.acked;
    ASSERT_FALSE(fill.failures.empty())
        << "the disk never filled: " << acked.size() << " orders acknowledged in 90 s";
    for (const absl::Status& failure : fill.failures) {
      EXPECT_EQ(failure.code(), absl::StatusCode::kUnavailable) << failure;
    }
    EXPECT_LT(fill.slowest_failure, absl::Seconds(10)) << "a refused command hung";
    std::printf("[ info ] %zu restocks acknowledged before the disk filled; refusal: %s\n",
                acked.size(), fill.failures.front().ToString().c_str());
  }
  ASSERT_FALSE(acked.empty()) << "nothing fit on the disk at all";

  // While full: still serving, every command refused fast with UNAVAILABLE.
  PipelineClient client(*server);
  ASSERT_TRUE(server->IsServing()) << "server died on a full disk\n" << server->LogTail();
  for (int i = 0; i < 3; ++i) {
    const absl::Time begin = absl::Now();
    absl::Status status = AdjustStock(*server, absl::StrCat("while-full-", i), FillSku(0));
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_LT(absl::Now() - begin, absl::Seconds(10)) << "a command hung on the full disk";
  }

  // The log head stays readable and holds every acknowledged order.
  auto head_while_full = server->HeadPosition();
  ASSERT_TRUE(head_while_full.ok()) << head_while_full.status();
  // Request ids of the restocks in the log, and their count per SKU.
  std::map<std::string, int64_t> logged_per_sku;
  auto placed_in_log = [&] {
    std::set<std::string> logged;
    logged_per_sku.clear();
    for (const v1::Event& e : client.ReadAll()) {
      if (!e.has_stock_adjusted()) continue;
      logged.insert(e.request_id());
      logged_per_sku[e.stock_adjusted().sku()] += e.stock_adjusted().delta();
    }
    return logged;
  };
  {
    const std::set<std::string> logged = placed_in_log();
    for (const std::string& id : acked) EXPECT_TRUE(logged.count(id)) << id << " lost";
  }

  // Space comes back.
  ASSERT_TRUE(small.Resize(kBig).ok());
  auto try_command = [&](const std::string& id) {
    const bool ok = AdjustStock(*server, id, FillSku(1)).ok();
    if (ok) acked.insert(id);
    return ok;
  };
  int attempt = 0;
  const bool recovered_live = testing::Eventually(
      [&] { return try_command(absl::StrCat("after-grow-", attempt++)); }, absl::Seconds(5));
  std::printf(
      "[ info ] after growing the disk: %s\n",
      recovered_live ? "the running server accepts commands again" : "the server needed a restart");
  if (!recovered_live) {
    server->Kill();
    ASSERT_TRUE(server->Restart().ok()) << server->LogTail();
    ASSERT_TRUE(try_command("after-restart")) << server->LogTail();
  }

  // Nothing acknowledged was lost, and the read model catches up with the
  // log (every restock applied once).
  const std::set<std::string> logged = placed_in_log();
  for (const std::string& id : acked) EXPECT_TRUE(logged.count(id)) << id << " lost";
  for (const auto& [sku, total] : logged_per_sku) {
    EXPECT_TRUE(client.StockBecomes(sku, total, absl::Seconds(60)))
        << sku << " should reach " << total << ", is "
        << client.GetStock(sku).value_or(v1::Stock()).available() << "\n"
        << server->LogTail();
  }
  EXPECT_TRUE(server->Terminate().ok()) << server->LogTail();
}

}  // namespace
}  // namespace surge::faults
