#include "kafka/relay.h"

#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "kafka/embedded_broker.h"
#include "kafka/topics.h"
#include "projections/read_models.h"
#include "tests/kafka/test_consumer.h"

namespace surge::kafka {
namespace {

using testing::ConsumedMessage;
using testing::TestConsumer;

// Polls `condition` (a cheap snapshot check) until true or `timeout`.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

v1::Event MakeEvent(int i) {
  v1::Event event;
  switch (i % 3) {
    case 0: {
      const std::string id = absl::StrCat("o-", i % 20);
      event.set_stream_id("order-" + id);
      event.mutable_order_placed()->set_order_id(id);
      event.mutable_order_placed()->set_user_id("u");
      break;
    }
    case 1: {
      const std::string sku = absl::StrCat("s-", i % 7);
      event.set_stream_id("stock-" + sku);
      event.mutable_stock_decrease_requested()->set_sku(sku);
      event.mutable_stock_decrease_requested()->set_order_id(absl::StrCat("o-", i));
      event.mutable_stock_decrease_requested()->set_quantity(1);
      break;
    }
    default: {
      const std::string code = absl::StrCat("c-", i % 3 + i % 5);
      event.set_stream_id("campaign-" + code);
      event.mutable_coupon_requested()->set_code(code);
      event.mutable_coupon_requested()->set_user_id(absl::StrCat("u-", i));
      event.mutable_coupon_requested()->set_request_id(absl::StrCat("r-", i));
      break;
    }
  }
  return event;
}

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/surge-relay-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    OpenStore();
    StartBroker();
  }

  void TearDown() override {
    relay_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void OpenStore() {
    eventstore::Options options;
    options.durability = eventstore::Durability::kAsync;
    auto store = eventstore::EventStore::Open(options, dir_ + "/data");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void StartBroker() {
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
  }

  void AppendEvents(int count) {
    const int first = static_cast<int>(store_->HeadPosition());
    for (int i = 0; i < count;) {
      eventstore::AppendRequest request;
      for (int j = 0; j < 100 && i < count; ++j, ++i)
        request.events.push_back(MakeEvent(first + i));
      auto result = store_->Append(std::move(request));
      ASSERT_TRUE(result.ok()) << result.status();
    }
  }

  // Every partition of every event topic applied up to `position` by one
  // projection named "test".
  void WriteApplied(uint64_t position) {
    eventstore::AppendRequest request;
    for (const std::string& topic : EventTopics()) {
      for (int p = 0; p < 6; ++p) {
        request.extra_writes.push_back({eventstore::kCheckpointsCf,
                                        projections::AppliedPositionKey("test", topic, p),
                                        eventstore::EncodeBigEndian64(position)});
      }
    }
    ASSERT_TRUE(store_->Append(std::move(request)).ok());
  }

  uint64_t Checkpoint(const char* key) {
    auto value = store_->Get(eventstore::kCheckpointsCf, key);
    if (!value.ok() || !value->has_value()) return 0;
    return eventstore::DecodeBigEndian64(**value);
  }

  Relay::Options RelayOptions() {
    Relay::Options options;
    options.bootstrap_servers = broker_->bootstrap_servers();
    options.producer_config["log_level"] = "3";
    return options;
  }

  void StartRelay(const Relay::Options& options) {
    auto relay = Relay::Create(options, *store_);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = std::move(*relay);
    ASSERT_TRUE(relay_->Start().ok());
  }

  std::unique_ptr<TestConsumer> Consumer() {
    auto consumer = TestConsumer::Create(broker_->bootstrap_servers(), EventTopics(), 6);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return consumer.ok() ? std::move(*consumer) : nullptr;
  }

  static std::function<bool(const std::vector<ConsumedMessage>&)> Count(size_t n) {
    return [n](const std::vector<ConsumedMessage>& m) { return m.size() >= n; };
  }

  static std::set<uint64_t> Positions(const std::vector<ConsumedMessage>& messages) {
    std::set<uint64_t> positions;
    for (const auto& m : messages) positions.insert(m.NumberHeader(kPositionHeader));
    return positions;
  }

  // Checks per partition: first copies of positions arrive in increasing
  // order, and the gap protocol finds no gap (every non-zero prev was seen
  // before on that partition).
  static void ExpectOrderedWithoutGaps(const std::vector<ConsumedMessage>& messages) {
    std::map<std::pair<std::string, int32_t>, std::set<uint64_t>> seen;
    std::map<std::pair<std::string, int32_t>, uint64_t> highest_first;
    for (const ConsumedMessage& m : messages) {
      const auto tp = std::make_pair(m.topic, m.partition);
      const uint64_t position = m.NumberHeader(kPositionHeader);
      const uint64_t prev = m.NumberHeader(kPrevPositionHeader);
      EXPECT_TRUE(prev == 0 || seen[tp].count(prev) > 0)
          << m.topic << "/" << m.partition << " position " << position << " has prev " << prev
          << " never seen: a gap";
      EXPECT_LT(prev, position);
      if (seen[tp].insert(position).second) {
        EXPECT_GT(position, highest_first[tp]) << m.topic << "/" << m.partition << " out of order";
        highest_first[tp] = position;
      }
    }
  }

  std::string dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<Relay> relay_;
};

TEST_F(RelayTest, PublishesEveryEventWithKeyPartitionAndHeadersInOrder) {
  AppendEvents(300);
  StartRelay(RelayOptions());
  auto consumer = Consumer();
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->ConsumeUntil(Count(300), absl::Seconds(15)))
      << "consumed " << consumer->messages().size();

  auto events = store_->ReadAll(1, 1000);
  ASSERT_TRUE(events.ok());
  std::map<uint64_t, v1::Event> by_position;
  for (const auto& e : *events) by_position[e.position()] = e;

  std::map<std::pair<std::string, int32_t>, uint64_t> last;
  for (const ConsumedMessage& m : consumer->messages()) {
    const uint64_t position = m.NumberHeader(kPositionHeader);
    ASSERT_EQ(by_position.count(position), 1u) << position;
    const v1::Event& event = by_position[position];
    auto route = RouteEvent(event);
    ASSERT_TRUE(route.ok());
    EXPECT_EQ(m.topic, route->topic);
    EXPECT_EQ(m.key, route->key);
    EXPECT_EQ(m.partition, PartitionFor(route->key, 6));
    EXPECT_EQ(m.headers.at(kEventTypeHeader), EventTypeName(event));
    EXPECT_EQ(m.headers.at(kEventIdHeader), event.event_id());
    EXPECT_EQ(m.headers.at(kNodeHeader), event.node_id());
    v1::Event decoded;
    ASSERT_TRUE(decoded.ParseFromString(m.value));
    EXPECT_EQ(decoded.SerializeAsString(), event.SerializeAsString());
    // One copy each, in position order, and prev chains the partition.
    const auto tp = std::make_pair(m.topic, m.partition);
    EXPECT_EQ(m.NumberHeader(kPrevPositionHeader), last[tp]) << "position " << position;
    EXPECT_GT(position, last[tp]);
    last[tp] = position;
  }
  EXPECT_EQ(Positions(consumer->messages()).size(), 300u);
  EXPECT_EQ(consumer->messages().size(), 300u);

  ASSERT_TRUE(WaitFor([&] { return Checkpoint(kRelayDeliveredKey) == 300; }, absl::Seconds(10)))
      << "relay/delivered = " << Checkpoint(kRelayDeliveredKey);
  const Relay::Stats stats = relay_->GetStats();
  EXPECT_EQ(stats.produced, 300u);
  EXPECT_EQ(stats.delivered_position, 300u);
  EXPECT_EQ(stats.low_watermark, 0u);  // nothing applied
  EXPECT_TRUE(stats.last_delivery.has_value());
}

TEST_F(RelayTest, EmbeddedRestartRepublishesFromLowWatermark) {
  AppendEvents(100);
  StartRelay(RelayOptions());
  ASSERT_TRUE(
      WaitFor([&] { return relay_->GetStats().delivered_position == 100; }, absl::Seconds(15)));
  WriteApplied(60);
  relay_->NotifyApplied();
  ASSERT_TRUE(WaitFor([&] { return Checkpoint(kRelayLowWatermarkKey) == 60; }, absl::Seconds(10)))
      << "relay/low_watermark = " << Checkpoint(kRelayLowWatermarkKey);
  relay_.reset();

  // The mock broker loses everything on a restart.
  broker_.reset();
  StartBroker();
  StartRelay(RelayOptions());
  auto consumer = Consumer();
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->ConsumeUntil(Count(40), absl::Seconds(15)))
      << "consumed " << consumer->messages().size();
  ASSERT_TRUE(
      WaitFor([&] { return relay_->GetStats().delivered_position == 100; }, absl::Seconds(10)));
  // Drain anything else that might have been produced.
  consumer->ConsumeUntil(Count(41), absl::Milliseconds(300));
  std::set<uint64_t> expected;
  for (uint64_t p = 61; p <= 100; ++p) expected.insert(p);
  EXPECT_EQ(Positions(consumer->messages()), expected);
  EXPECT_EQ(consumer->messages().size(), 40u);
  EXPECT_EQ(relay_->GetStats().produced, 40u);
  ExpectOrderedWithoutGaps(consumer->messages());
}

TEST_F(RelayTest, SkipsPositionsEveryProjectionAlreadyApplied) {
  AppendEvents(90);
  WriteApplied(30);
  StartRelay(RelayOptions());  // no relay checkpoints: starts at 1
  auto consumer = Consumer();
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->ConsumeUntil(Count(60), absl::Seconds(15)));
  ASSERT_TRUE(
      WaitFor([&] { return relay_->GetStats().delivered_position == 90; }, absl::Seconds(10)));
  EXPECT_EQ(*Positions(consumer->messages()).begin(), 31u);
  const Relay::Stats stats = relay_->GetStats();
  EXPECT_EQ(stats.produced, 60u);
  EXPECT_EQ(stats.skipped, 30u);
}

TEST_F(RelayTest, NeverRunsMoreThanWindowAheadOfAppliedProgress) {
  AppendEvents(200);
  Relay::Options options = RelayOptions();
  options.window = 50;
  options.stall_timeout = absl::Seconds(60);
  StartRelay(options);
  ASSERT_TRUE(
      WaitFor([&] { return relay_->GetStats().delivered_position == 50; }, absl::Seconds(15)));
  // Observe for a while: with no applied progress nothing more may go out.
  absl::SleepFor(absl::Milliseconds(300));
  Relay::Stats stats = relay_->GetStats();
  EXPECT_EQ(stats.produced, 50u);
  EXPECT_EQ(stats.next_position, 51u);

  WriteApplied(50);
  relay_->NotifyApplied();
  ASSERT_TRUE(
      WaitFor([&] { return relay_->GetStats().delivered_position == 100; }, absl::Seconds(15)));
  absl::SleepFor(absl::Milliseconds(300));
  stats = relay_->GetStats();
  EXPECT_EQ(stats.produced, 100u);
  EXPECT_EQ(stats.low_watermark, 50u);

  // Everything applied: the rest is skipped, not produced.
  WriteApplied(200);
  relay_->NotifyApplied();
  ASSERT_TRUE(WaitFor([&] { return relay_->GetStats().low_watermark == 200; }, absl::Seconds(15)));
  EXPECT_EQ(relay_->GetStats().produced, 100u);
  ASSERT_TRUE(WaitFor([&] { return Checkpoint(kRelayLowWatermarkKey) == 200; }, absl::Seconds(10)));
}

TEST_F(RelayTest, RequestReplayReproducesFromLowWatermarkWithPrevReset) {
  AppendEvents(50);
  Relay::Options options = RelayOptions();
  options.stall_timeout = absl::Seconds(60);
  StartRelay(options);
  auto consumer = Consumer();
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->ConsumeUntil(Count(50), absl::Seconds(15)));
  WriteApplied(20);
  relay_->NotifyApplied();
  ASSERT_TRUE(WaitFor([&] { return relay_->GetStats().low_watermark == 20; }, absl::Seconds(10)));

  relay_->RequestReplay(30);  // clamped to W+1 = 21
  ASSERT_TRUE(consumer->ConsumeUntil(Count(80), absl::Seconds(15)))
      << "consumed " << consumer->messages().size();
  const std::vector<ConsumedMessage>& messages = consumer->messages();
  std::set<uint64_t> replayed;
  for (size_t i = 50; i < messages.size(); ++i) {
    replayed.insert(messages[i].NumberHeader(kPositionHeader));
  }
  std::set<uint64_t> expected;
  for (uint64_t p = 21; p <= 50; ++p) expected.insert(p);
  EXPECT_EQ(replayed, expected);
  // The first replayed message of each partition carries prev 0.
  std::map<std::pair<std::string, int32_t>, std::vector<const ConsumedMessage*>> by_partition;
  for (const auto& m : messages) by_partition[{m.topic, m.partition}].push_back(&m);
  for (const auto& [tp, list] : by_partition) {
    std::set<uint64_t> seen;
    bool in_replay = false;
    for (const ConsumedMessage* m : list) {
      const uint64_t position = m->NumberHeader(kPositionHeader);
      if (!in_replay && seen.count(position)) {
        in_replay = true;
        EXPECT_EQ(m->NumberHeader(kPrevPositionHeader), 0u)
            << tp.first << "/" << tp.second << " first replayed position " << position;
      }
      seen.insert(position);
    }
  }
  ExpectOrderedWithoutGaps(messages);
  EXPECT_GE(relay_->GetStats().rewinds, 1u);
  EXPECT_EQ(relay_->GetStats().produced, 80u);
}

// Nothing is applied (a consumer group in a long rebalance): each stall
// rewind doubles the wait before the next, up to stall_timeout_max, instead
// of re-sending the whole window every stall_timeout; progress resets it.
TEST_F(RelayTest, StallRewindsBackOffWhileNothingIsAppliedAndResetOnProgress) {
  AppendEvents(60);
  Relay::Options options = RelayOptions();
  options.stall_timeout = absl::Milliseconds(100);
  options.stall_timeout_max = absl::Milliseconds(400);
  StartRelay(options);
  ASSERT_TRUE(WaitFor([&] { return relay_->GetStats().stall_rewinds >= 4; }, absl::Seconds(30)))
      << "stall rewinds: " << relay_->GetStats().stall_rewinds;
  // One snapshot: the wait follows the number of fruitless rewinds.
  Relay::Stats stats = relay_->GetStats();
  EXPECT_EQ(stats.stall_wait, absl::Milliseconds(400)) << "after " << stats.stall_rewinds;
  EXPECT_EQ(stats.low_watermark, 0u);

  WriteApplied(60);
  relay_->NotifyApplied();
  ASSERT_TRUE(WaitFor([&] { return relay_->GetStats().low_watermark == 60; }, absl::Seconds(15)));
  ASSERT_TRUE(WaitFor([&] { return relay_->GetStats().stall_wait == absl::Milliseconds(100); },
                      absl::Seconds(15)))
      << "progress did not reset the wait: " << relay_->GetStats().stall_wait;
}

TEST_F(RelayTest, DeliversEverythingInOrderAcrossBrokerOutageAndInjectedErrors) {
  Relay::Options options = RelayOptions();
  options.stall_timeout = absl::Seconds(60);
  options.backoff_max = absl::Milliseconds(300);
  // Messages give up while the brokers are down, exercising the relay's own
  // re-produce path on top of librdkafka's retries.
  options.producer_config["message.timeout.ms"] = "1500";
  AppendEvents(200);
  StartRelay(options);
  ASSERT_TRUE(
      WaitFor([&] { return relay_->GetStats().delivered_position == 200; }, absl::Seconds(15)));

  ASSERT_TRUE(broker_->SetBrokerDown(-1).ok());
  AppendEvents(300);
  // The outage itself: long enough for messages to time out.
  absl::SleepFor(absl::Milliseconds(2500));
  broker_->PushProduceErrors({6 /* NOT_LEADER_FOR_PARTITION */, 7 /* REQUEST_TIMED_OUT */,
                              19 /* NOT_ENOUGH_REPLICAS */, -195 /* _TRANSPORT */, 6});
  ASSERT_TRUE(broker_->SetBrokerUp(-1).ok());

  ASSERT_TRUE(
      WaitFor([&] { return relay_->GetStats().delivered_position == 500; }, absl::Seconds(20)))
      << "delivered " << relay_->GetStats().delivered_position;
  const Relay::Stats stats = relay_->GetStats();
  EXPECT_GE(stats.errors, 1u);
  EXPECT_GE(stats.rewinds, 1u);

  auto consumer = Consumer();
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->ConsumeUntil([](const auto& m) { return Positions(m).size() >= 500; },
                                     absl::Seconds(15)))
      << "distinct positions consumed: " << Positions(consumer->messages()).size();
  EXPECT_EQ(*Positions(consumer->messages()).rbegin(), 500u);
  ExpectOrderedWithoutGaps(consumer->messages());
}

}  // namespace
}  // namespace surge::kafka
