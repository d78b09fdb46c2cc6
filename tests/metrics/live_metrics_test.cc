// The /metrics output of a real surge-server after traffic: promtool accepts
// it and it carries the families operators rely on (issue 4's list).
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/metrics/live_server_util.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

// The value of the sample whose name (and labels) is exactly `series`, or
// nullopt when the exposition has no such line.
std::optional<double> SampleValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return std::nullopt;
}

class LiveMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ServerProcess::Start({});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    // Traffic touching every part: commands, the saga both ways, coupons,
    // and a failed call (its code label).
    ASSERT_TRUE(AddStock(*server_, "sku-live", 10).ok());
    auto ok = PlaceOrder(*server_, "live-ok", "sku-live", 3);
    ASSERT_TRUE(ok.ok()) << ok.status();
    auto doomed = PlaceOrder(*server_, "live-doomed", "sku-live", 50);
    ASSERT_TRUE(doomed.ok()) << doomed.status();
    ASSERT_TRUE(SettledOrder(*server_, *ok).ok());
    ASSERT_TRUE(SettledOrder(*server_, *doomed).ok());
    v1::CreateCampaignRequest campaign;
    campaign.set_request_id("live-campaign");
    campaign.set_code("LIVE");
    campaign.set_total_quantity(3);
    campaign.set_per_user_limit(1);
    v1::CreateCampaignResponse created;
    ASSERT_TRUE(server_->Coupons()->CreateCampaign(Ctx().get(), campaign, &created).ok());
    // The campaign's read-model row (what the coupon gauges read) appears
    // once the coupon projection applied it; nothing notifies a client of
    // that, so poll the endpoint (bounded).
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (true) {
      absl::StatusOr<std::string> text = ScrapeMetrics(*server_);
      if (text.ok() && absl::StrContains(*text, R"(surge_coupons_remaining{campaign="LIVE"} 3)")) {
        break;
      }
      ASSERT_LT(absl::Now(), deadline) << "campaign LIVE never applied\n" << server_->LogTail();
      absl::SleepFor(absl::Milliseconds(50));
    }
    v1::GetOrderRequest missing;
    missing.set_order_id("no-such-order");
    v1::Order unused;
    EXPECT_EQ(server_->Orders()->GetOrder(Ctx().get(), missing, &unused).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(LiveMetricsTest, PromtoolAcceptsTheLiveOutput) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (scripts/install-deps.sh installs it)";
  }
  absl::StatusOr<std::string> text = ScrapeMetrics(*server_);
  ASSERT_TRUE(text.ok()) << text.status();
  TempDir dir;
  const std::string path = dir.Path("metrics.txt");
  std::ofstream(path) << *text;
  const int rc = std::system(
      absl::StrCat("promtool check metrics < ", path, " > ", path, ".out 2>&1").c_str());
  std::ifstream in(path + ".out");
  const std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << report << "\n--- output ---\n" << *text;
}

TEST_F(LiveMetricsTest, ServesEveryDocumentedFamily) {
  absl::StatusOr<std::string> text = ScrapeMetrics(*server_);
  ASSERT_TRUE(text.ok()) << text.status();
  const std::vector<std::string> families = {"surge_grpc_server_handled_total",
                                             "surge_grpc_server_handling_seconds",
                                             "surge_eventstore_append_batch_size",
                                             "surge_eventstore_commit_seconds",
                                             "surge_eventstore_queue_depth",
                                             "surge_eventstore_memtable_bytes",
                                             "surge_eventstore_block_cache_bytes",
                                             "surge_eventstore_table_readers_bytes",
                                             "surge_eventstore_background_jobs_total",
                                             "surge_eventstore_background_written_bytes_total",
                                             "surge_eventstore_compaction_cpu_seconds_total",
                                             "surge_eventstore_compaction_seconds_total",
                                             "surge_eventstore_write_stalls_total",
                                             "surge_eventstore_rejected_total",
                                             "surge_eventstore_events_total",
                                             "surge_eventstore_write_errors_total",
                                             "process_cpu_seconds_total",
                                             "process_resident_memory_bytes",
                                             "process_start_time_seconds",
                                             "process_open_fds",
                                             "surge_log_head_position",
                                             "surge_relay_position",
                                             "surge_relay_low_watermark",
                                             "surge_admission_rejected_total",
                                             "surge_admission_decision_delay_seconds",
                                             "surge_admission_backlog_events",
                                             "surge_admission_decision_rate",
                                             "surge_admission_deciding",
                                             "surge_relay_lag_events",
                                             "surge_relay_lag_seconds",
                                             "surge_relay_produced_total",
                                             "surge_relay_errors_total",
                                             "surge_relay_rewinds_total",
                                             "surge_projection_position",
                                             "surge_projection_lag_messages",
                                             "surge_projection_messages_total",
                                             "surge_projection_batches_total",
                                             "surge_projection_duplicates_total",
                                             "surge_projection_gaps_total",
                                             "surge_projection_foreign_origin",
                                             "surge_projection_retries_total",
                                             "surge_projection_batch_size",
                                             "surge_projection_event_age_seconds",
                                             "surge_projection_event_relay_seconds",
                                             "surge_projection_event_kafka_seconds",
                                             "surge_projection_batch_seconds",
                                             "surge_allocator_info",
                                             "surge_projection_dead_lettered_total",
                                             "surge_orders",
                                             "surge_coupons_issued",
                                             "surge_coupons_remaining"};
  for (const std::string& family : families) {
    EXPECT_TRUE(absl::StrContains(*text, absl::StrCat("\n# TYPE ", family, " ")))
        << family << " missing";
  }
  // Values that follow from the traffic in SetUp.
  EXPECT_TRUE(absl::StrContains(*text, R"(surge_orders{status="CONFIRMED"} 1)")) << *text;
  EXPECT_TRUE(absl::StrContains(*text, R"(surge_orders{status="CANCELLED"} 1)")) << *text;
  EXPECT_TRUE(absl::StrContains(*text, R"(surge_orders{status="PENDING"} 0)")) << *text;
  EXPECT_TRUE(absl::StrContains(*text, R"(surge_coupons_remaining{campaign="LIVE"})")) << *text;
  EXPECT_TRUE(
      absl::StrContains(*text, R"(code="NOT_FOUND",method="surge.v1.OrderService/GetOrder"} 1)"))
      << *text;
  EXPECT_TRUE(
      absl::StrContains(*text, R"(surge_projection_batch_size_count{projection="order-saga"})"))
      << *text;
  // The saga applied at least the two orders' events, each with its age.
  const std::optional<double> ages =
      SampleValue(*text, R"(surge_projection_event_age_seconds_count{projection="order-saga"})");
  ASSERT_TRUE(ages.has_value()) << *text;
  EXPECT_GE(*ages, 2) << *text;
  // The relay's messages reach the saga with their Kafka CreateTime: every
  // age is also cut at it.
  for (const char* part : {"relay", "kafka"}) {
    const std::optional<double> parts =
        SampleValue(*text, absl::StrCat("surge_projection_event_", part,
                                        R"(_seconds_count{projection="order-saga"})"));
    ASSERT_TRUE(parts.has_value()) << part << "\n" << *text;
    EXPECT_EQ(*parts, *ages) << part;
  }
  const std::optional<double> batches =
      SampleValue(*text, R"(surge_projection_batch_seconds_count{projection="stock"})");
  ASSERT_TRUE(batches.has_value()) << *text;
  EXPECT_GE(*batches, 1) << *text;
}

// The binary really runs on the allocator the build chose: jemalloc is
// linked, not merely installed (and reports its own counts), or glibc's.
TEST_F(LiveMetricsTest, RunsOnTheAllocatorOfTheBuild) {
  absl::StatusOr<std::string> text = ScrapeMetrics(*server_);
  ASSERT_TRUE(text.ok()) << text.status();
#ifdef SURGE_EXPECT_JEMALLOC
  EXPECT_TRUE(absl::StrContains(*text, R"(surge_allocator_info{allocator="jemalloc 5.)")) << *text;
  // The compiled-in options reached jemalloc (common/allocator.cc).
  EXPECT_TRUE(absl::StrContains(
      *text, R"(options="background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:1000"} 1)"))
      << *text;
  const std::optional<double> resident = SampleValue(*text, "surge_allocator_resident_bytes");
  const std::optional<double> allocated = SampleValue(*text, "surge_allocator_allocated_bytes");
  ASSERT_TRUE(resident.has_value() && allocated.has_value()) << *text;
  EXPECT_GT(*allocated, 1 << 20);  // a running server holds more than a MiB
  EXPECT_GE(*resident, *allocated);
#else
  EXPECT_TRUE(absl::StrContains(*text, R"(surge_allocator_info{allocator="glibc malloc",)"))
      << *text;
  EXPECT_FALSE(absl::StrContains(*text, "surge_allocator_resident_bytes")) << *text;
#endif
  EXPECT_TRUE(absl::StrContains(server_->LogTail(100000), "allocator: ")) << server_->LogTail();
}

}  // namespace
}  // namespace surge::testing
