// The relay finds the projections' applied checkpoints by a prefix scan at
// most once a second and reads the keys it found by point lookups in between
// (kafka/relay.cc ReadApplied). A checkpoint key that appears after the relay
// started must still be found, and must then bound the relay's window.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "kafka/embedded_broker.h"
#include "kafka/relay.h"
#include "kafka/topics.h"
#include "projections/read_models.h"
#include "tests/support/temp_dir.h"

namespace surge::kafka {
namespace {

constexpr int kPartitions = 2;
constexpr uint64_t kWindow = 50;

// Polls a cheap snapshot until `condition` holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// True when `condition` holds at every check over `span` (a bounded
// observation that something does NOT happen, e.g. the relay running on).
bool HoldsFor(const std::function<bool()>& condition, absl::Duration span) {
  const absl::Time end = absl::Now() + span;
  while (absl::Now() < end) {
    if (!condition()) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return condition();
}

class RelayAppliedDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    eventstore::Options options;
    options.durability = eventstore::Durability::kAsync;
    auto store = eventstore::EventStore::Open(options, dir_.Path("data"));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    EmbeddedBroker::Options broker_options;
    broker_options.partitions = kPartitions;
    auto broker = EmbeddedBroker::Start(broker_options);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }

  void TearDown() override {
    relay_.reset();
    store_.reset();
  }

  // `count` OrderPlaced events (surge.orders, keys spread over both partitions).
  void AppendOrders(int count) {
    eventstore::AppendRequest request;
    for (int i = 0; i < count; ++i) {
      const std::string id = absl::StrCat("o-", store_->HeadPosition() + i);
      v1::Event event;
      event.set_stream_id("order-" + id);
      event.mutable_order_placed()->set_order_id(id);
      event.mutable_order_placed()->set_user_id("u");
      request.events.push_back(std::move(event));
    }
    ASSERT_TRUE(store_->Append(std::move(request)).ok());
  }

  void WriteApplied(const std::string& projection, const std::string& topic, uint64_t position) {
    eventstore::AppendRequest request;
    for (int p = 0; p < kPartitions; ++p) {
      request.extra_writes.push_back({eventstore::kCheckpointsCf,
                                      projections::AppliedPositionKey(projection, topic, p),
                                      eventstore::EncodeBigEndian64(position)});
    }
    ASSERT_TRUE(store_->Append(std::move(request)).ok());
  }

  void StartRelay() {
    Relay::Options options;
    options.bootstrap_servers = broker_->bootstrap_servers();
    options.partitions = kPartitions;
    options.window = kWindow;
    // No stall rewinds during the test: W is held low on purpose.
    options.stall_timeout = absl::Minutes(5);
    auto relay = Relay::Create(options, *store_);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = *std::move(relay);
    ASSERT_TRUE(relay_->Start().ok());
  }

  uint64_t Next() const { return relay_->GetStats().next_position; }
  uint64_t W() const { return relay_->GetStats().low_watermark; }

  testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<Relay> relay_;
};

TEST_F(RelayAppliedDiscoveryTest, LateProjectionKeyIsFoundByThePeriodicScanAndBoundsTheWindow) {
  // A key of another topic exists at start, so the relay's first scan finds
  // something and it then reads by point lookups: only the periodic rescan
  // can find keys that appear later.
  WriteApplied("early", kStockTopic, 0);
  AppendOrders(300);
  const uint64_t base = store_->HeadPosition() - 300;  // the checkpoint append took none
  StartRelay();

  // No projection has checkpointed surge.orders: nothing of it is applied,
  // so the relay stops a window ahead of the log's start.
  ASSERT_TRUE(WaitFor([&] { return Next() == base + kWindow + 1; }, absl::Seconds(10)))
      << "next " << Next();
  EXPECT_TRUE(HoldsFor([&] { return Next() == base + kWindow + 1; }, absl::Milliseconds(300)))
      << "ran past the window: next " << Next();

  // A projection of surge.orders appears, having applied up to base+200.
  WriteApplied("late", kOrdersTopic, base + 200);
  ASSERT_TRUE(WaitFor([&] { return W() == base + 200 && Next() == base + 200 + kWindow + 1; },
                      absl::Seconds(5)))
      << "the late key was not honoured: W " << W() << ", next " << Next();
  // Longer than one rescan interval: the relay stays a window ahead of it.
  EXPECT_TRUE(
      HoldsFor([&] { return Next() == base + 200 + kWindow + 1; }, absl::Milliseconds(1500)))
      << "ran more than the window ahead of the late projection: next " << Next();

  // Its progress is then followed by point lookups.
  WriteApplied("late", kOrdersTopic, base + 300);
  EXPECT_TRUE(WaitFor([&] { return W() == base + 300 && Next() == base + 301; }, absl::Seconds(5)))
      << "W " << W() << ", next " << Next();
}

TEST_F(RelayAppliedDiscoveryTest, LateKeyBelowAKnownProjectionHoldsTheRelayOnceFound) {
  // "fast" has applied everything so far; "slow" then appears at the same
  // point and applies nothing more. Once found, the relay must not produce
  // more than a window past "slow", however far "fast" goes.
  AppendOrders(100);
  const uint64_t base = store_->HeadPosition();
  WriteApplied("fast", kOrdersTopic, base);
  StartRelay();
  ASSERT_TRUE(WaitFor([&] { return Next() == base + 1; }, absl::Seconds(10))) << Next();

  WriteApplied("slow", kOrdersTopic, base);
  // Let one rescan (every 1 s, kAppliedRescanInterval) pass, so "slow" is
  // known before anything new is produced
  // (until then the relay cannot know of it: this is the scan's interval).
  absl::SleepFor(absl::Milliseconds(1500));
  AppendOrders(300);
  // "fast" keeps up with everything produced.
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  while (absl::Now() < deadline) {
    WriteApplied("fast", kOrdersTopic, Next() - 1);
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(Next(), base + kWindow + 1) << "relay ran past the slow projection's window";
  EXPECT_EQ(W(), base);
}

}  // namespace
}  // namespace surge::kafka
