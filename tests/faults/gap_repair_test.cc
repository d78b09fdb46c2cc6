// Scenario 7 of the pipeline issue: a consumer that lags by more than the
// embedded broker's retention (~5 MiB per partition, oldest data dropped
// silently). The relay is allowed to run far ahead (huge window, stall
// rewinds effectively off), so the messages the projection needs first are
// gone when it starts. The gap protocol must notice (surge-prev-position
// chain broken, or offset out of range) and have the relay re-publish from
// the log: in the end every event is applied exactly once.
#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/notifier.h"
#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "kafka/embedded_broker.h"
#include "kafka/internal/config.h"
#include "kafka/internal/holders.h"
#include "kafka/relay.h"
#include "kafka/topics.h"
#include "projections/internal/big_endian.h"
#include "projections/pipeline.h"
#include "projections/read_models.h"
#include "surge/v1/events.pb.h"
#include "surge/v1/surge.pb.h"
#include "tests/support/temp_dir.h"

namespace surge::faults {
namespace {

constexpr int kEvents = 25000;
constexpr int kEventsPerAppend = 500;

// (low, high) watermark offsets of one partition, asked of the broker.
absl::StatusOr<std::pair<int64_t, int64_t>> Watermarks(const std::string& bootstrap,
                                                       const std::string& topic,
                                                       int32_t partition) {
  auto conf = kafka::internal::MakeConf({{"bootstrap.servers", bootstrap}, {"log_level", "3"}});
  if (!conf.ok()) return conf.status();
  auto client = kafka::internal::NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!client.ok()) return client.status();
  int64_t low = -1, high = -1;
  const rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(client->get(), topic.c_str(), partition, &low, &high, 10000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("query watermarks: ", rd_kafka_err2str(err)));
  }
  return std::make_pair(low, high);
}

// Polls `probe` (cheap local reads) until true or `timeout`.
bool WaitUntil(const std::function<bool()>& probe, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!probe()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

TEST(GapRepairTest, ConsumerBehindBrokerRetentionGetsEveryEventExactlyOnce) {
  testing::TempDir dir;
  eventstore::Options store_options;
  store_options.extra_column_families = projections::ReadModelColumnFamilies();
  store_options.durability = eventstore::Durability::kAsync;  // speed; no crash here
  auto opened = eventstore::EventStore::Open(store_options, dir.Path("data"));
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::unique_ptr<eventstore::EventStore> store = std::move(*opened);

  auto started = kafka::EmbeddedBroker::Start({});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<kafka::EmbeddedBroker> broker = std::move(*started);

  kafka::Relay::Options relay_options;
  relay_options.bootstrap_servers = broker->bootstrap_servers();
  relay_options.partitions = broker->options().partitions;
  relay_options.window = 10'000'000;  // lets the relay overrun the retention
  // No stall rewinds during the test: the repair must come from the
  // consumers' gap protocol, not from the relay's own fallback.
  relay_options.stall_timeout = absl::Minutes(30);
  auto relay_or = kafka::Relay::Create(relay_options, *store);
  ASSERT_TRUE(relay_or.ok()) << relay_or.status();
  std::unique_ptr<kafka::Relay> relay = std::move(*relay_or);
  ASSERT_TRUE(relay->Start().ok());

  // One SKU with a long name: every event lands in one partition and each
  // message is big (key, stream id and sku are 128+ bytes each).
  const std::string sku = "sku-" + std::string(124, 'g');
  ASSERT_EQ(sku.size(), 128u);
  int64_t expected_available = 0;
  for (int i = 0; i < kEvents; i += kEventsPerAppend) {
    eventstore::AppendRequest request;
    for (int j = i; j < i + kEventsPerAppend; ++j) {
      v1::Event& event = request.events.emplace_back();
      event.set_stream_id("stock-" + sku);
      // Distinct deltas: applying any event twice, or missing one, changes
      // the sum.
      const int64_t delta = 1 + (j % 97);
      event.mutable_stock_adjusted()->set_sku(sku);
      event.mutable_stock_adjusted()->set_delta(delta);
      expected_available += delta;
    }
    auto appended = store->Append(std::move(request));
    ASSERT_TRUE(appended.ok()) << appended.status();
  }
  const uint64_t last = store->HeadPosition();
  ASSERT_EQ(last, static_cast<uint64_t>(kEvents));

  // Phase 1: the relay delivers everything while nobody consumes.
  ASSERT_TRUE(
      WaitUntil([&] { return relay->GetStats().delivered_position >= last; }, absl::Seconds(30)))
      << "relay delivered only up to " << relay->GetStats().delivered_position << " of " << last;
  const int32_t partition = kafka::PartitionFor(sku, relay_options.partitions);
  auto marks = Watermarks(broker->bootstrap_servers(), kafka::kStockTopic, partition);
  ASSERT_TRUE(marks.ok()) << marks.status();
  ASSERT_GT(marks->first, 0) << "the broker kept all " << marks->second
                             << " messages; the test did not overrun its retention";
  std::printf("[ info ] %s/%d holds offsets [%lld, %lld) of %d events\n", kafka::kStockTopic,
              partition, static_cast<long long>(marks->first),
              static_cast<long long>(marks->second), kEvents);

  // Phase 2: the projections start from nothing and must repair the gap.
  Notifier applied;
  projections::ProjectionPipeline::Options pipeline_options;
  pipeline_options.bootstrap_servers = broker->bootstrap_servers();
  pipeline_options.on_applied = [&] {
    applied.Notify();
    relay->NotifyApplied();
  };
  pipeline_options.request_replay = [&](uint64_t from) { relay->RequestReplay(from); };
  auto pipeline_or = projections::ProjectionPipeline::Start(pipeline_options, *store);
  ASSERT_TRUE(pipeline_or.ok()) << pipeline_or.status();
  std::unique_ptr<projections::ProjectionPipeline> pipeline = std::move(*pipeline_or);

  const std::string checkpoint_key =
      projections::AppliedPositionKey("stock", kafka::kStockTopic, partition);
  auto applied_checkpoint = [&]() -> uint64_t {
    auto value = store->Get(eventstore::kCheckpointsCf, checkpoint_key);
    if (!value.ok() || !value->has_value()) return 0;
    return projections::internal::DecodeU64(**value).value_or(0);
  };
  const bool caught_up = WaitUntil([&] { return applied_checkpoint() >= last; }, absl::Seconds(45));
  auto stock_stats = [&] {
    for (const auto& r : pipeline->GetStats()) {
      if (r.projection == "stock") return r.stats;
    }
    return projections::ProjectionRunner::Stats{};
  };
  const projections::ProjectionRunner::Stats stats = stock_stats();
  const kafka::Relay::Stats relay_stats = relay->GetStats();
  ASSERT_TRUE(caught_up) << "stock projection applied only up to " << applied_checkpoint() << " of "
                         << last << " (gaps " << stats.gaps << ", duplicates " << stats.duplicates
                         << ", relay rewinds " << relay_stats.rewinds << ")";

  EXPECT_EQ(applied_checkpoint(), last);
  EXPECT_TRUE(stats.gaps > 0 || relay_stats.rewinds > 0)
      << "the lost messages were never noticed as a gap";
  auto row = store->Get(projections::kStockCf, sku);
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_TRUE(row->has_value()) << "no stock row";
  v1::Stock stock;
  ASSERT_TRUE(stock.ParseFromString(**row));
  EXPECT_EQ(stock.available(), expected_available)
      << "stock differs from the sum of all deltas: events lost or applied twice";
  EXPECT_EQ(stock.updated_position(), last);
  std::printf(
      "[ info ] gaps %llu, duplicates %llu, applied %llu, relay rewinds %llu, produced %llu\n",
      static_cast<unsigned long long>(stats.gaps),
      static_cast<unsigned long long>(stats.duplicates),
      static_cast<unsigned long long>(stats.applied),
      static_cast<unsigned long long>(relay_stats.rewinds),
      static_cast<unsigned long long>(relay_stats.produced));

  pipeline.reset();  // stop consuming before the relay and broker go
  relay.reset();
}

}  // namespace
}  // namespace surge::faults
