// The projections end to end: an embedded broker, a real event store in a
// temp dir, the relay, and one runner per topic.
#include <librdkafka/rdkafka.h>

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/notifier.h"
#include "gtest/gtest.h"
#include "kafka/embedded_broker.h"
#include "kafka/internal/config.h"
#include "kafka/internal/holders.h"
#include "kafka/relay.h"
#include "kafka/topics.h"
#include "projections/coupon_projection.h"
#include "projections/dead_letter_envelope.h"
#include "projections/dead_letters.h"
#include "projections/order_saga_projection.h"
#include "projections/pipeline.h"
#include "projections/runner.h"
#include "projections/stock_projection.h"
#include "tests/projections/fixable_coupons.h"
#include "tests/projections/store_fixture.h"

namespace surge::projections {
namespace {

using kafka::internal::ClientHandle;
using kafka::internal::MessageHandle;
using kafka::internal::TopicPartitionListHandle;

constexpr absl::Duration kSettle = absl::Seconds(20);

using testing::FixableCoupons;

class ProjectionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = kafka::EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    kafka::Relay::Options relay_options;
    relay_options.bootstrap_servers = broker_->bootstrap_servers();
    relay_options.partitions = broker_->options().partitions;
    relay_options.produce_watch = &watch_;
    relay_options.origin = origin_;
    auto relay = kafka::Relay::Create(relay_options, *store_);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = std::move(*relay);
    Run(stock_, kafka::kStockTopic);
    Run(saga_, kafka::kOrdersTopic);
    Run(coupons_, kafka::kCouponsTopic);
    dead_letters_.Register(&runners_.back()->applier());
    ASSERT_TRUE(relay_->Start().ok());
  }

  void TearDown() override {
    runners_.clear();
    relay_.reset();
    broker_.reset();
  }

  void Run(Projection& projection, const std::string& topic) {
    ProjectionRunner::Options options;
    options.bootstrap_servers = broker_->bootstrap_servers();
    options.topic = topic;
    options.retry_attempts = 2;
    options.backoff_min = absl::Milliseconds(1);
    options.backoff_max = absl::Milliseconds(5);
    options.on_applied = [this] {
      notifier_.Notify();
      relay_->NotifyApplied();
    };
    options.request_replay = [this](uint64_t from) { relay_->RequestReplay(from); };
    options.origin = origin_;
    options.on_foreign_origin = [this](const std::string& foreign) {
      absl::MutexLock lock(&foreign_mu_);
      foreign_seen_.push_back(foreign);
    };
    if (park_) {
      options.produce_watch = &watch_;
      options.park_timeout = park_timeout_;
    }
    auto runner = ProjectionRunner::Create(options, projection, *store_);
    ASSERT_TRUE(runner.ok()) << runner.status();
    ASSERT_TRUE((*runner)->Start().ok());
    runners_.push_back(std::move(*runner));
  }

  void Append(std::vector<v1::Event> events) {
    eventstore::AppendRequest request;
    request.events = std::move(events);
    ASSERT_TRUE(store_->Append(std::move(request)).ok());
  }

  void PlaceOrder(const std::string& id, const std::string& sku, int64_t quantity) {
    v1::Event placed;
    placed.set_stream_id("order-" + id);
    placed.set_correlation_id(id);
    placed.mutable_order_placed()->set_order_id(id);
    placed.mutable_order_placed()->set_user_id("u1");
    v1::OrderLine* line = placed.mutable_order_placed()->add_lines();
    line->set_sku(sku);
    line->set_quantity(quantity);
    v1::Event request;
    request.set_stream_id("order-" + id);
    request.set_correlation_id(id);
    request.mutable_stock_decrease_requested()->set_order_id(id);
    request.mutable_stock_decrease_requested()->set_sku(sku);
    request.mutable_stock_decrease_requested()->set_quantity(quantity);
    Append({placed, request});
  }

  static v1::Event Restock(const std::string& sku, int64_t delta) {
    v1::Event e;
    e.set_stream_id("stock-" + sku);
    e.mutable_stock_adjusted()->set_sku(sku);
    e.mutable_stock_adjusted()->set_delta(delta);
    return e;
  }
  static v1::Event Campaign(const std::string& code, int64_t total) {
    v1::Event e;
    e.set_stream_id("campaign-" + code);
    e.mutable_campaign_created()->set_code(code);
    e.mutable_campaign_created()->set_total_quantity(total);
    return e;
  }
  static v1::Event CouponRequest(const std::string& id, const std::string& user) {
    v1::Event e;
    e.set_stream_id("campaign-C");
    e.set_correlation_id(id);
    e.mutable_coupon_requested()->set_request_id(id);
    e.mutable_coupon_requested()->set_user_id(user);
    e.mutable_coupon_requested()->set_code("C");
    return e;
  }

  template <typename Message>
  std::optional<Message> Row(const std::string& cf, const std::string& key) {
    auto bytes = store_->Get(cf, key);
    if (!bytes.ok() || !bytes->has_value()) return std::nullopt;
    Message m;
    if (!m.ParseFromString(**bytes)) return std::nullopt;
    return m;
  }

  // Waits (notified by on_applied, bounded) until `done` holds.
  bool WaitUntil(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + kSettle;
    for (;;) {
      const uint64_t seen = notifier_.sequence();
      if (done()) return true;
      if (!notifier_.WaitPast(seen, deadline)) return done();
    }
  }

  bool Decided(const std::string& request_id) {
    auto row = Row<v1::CouponRequest>(kCouponRequestsCf, request_id);
    return row.has_value() && row->status() != v1::COUPON_REQUEST_STATUS_PENDING;
  }

  ClientHandle Producer() {
    auto conf = kafka::internal::MakeConf({{"bootstrap.servers", broker_->bootstrap_servers()}});
    EXPECT_TRUE(conf.ok());
    auto producer = kafka::internal::NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
    EXPECT_TRUE(producer.ok()) << producer.status();
    return std::move(*producer);
  }

  // Produces raw bytes with optional gap-protocol headers, acknowledged.
  void Produce(rd_kafka_t* producer, const std::string& topic, const std::string& key,
               const std::string& value, std::optional<uint64_t> position,
               const std::string& origin = "") {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
    if (!origin.empty()) {
      rd_kafka_header_add(headers, kafka::kOriginHeader, -1, origin.data(), origin.size());
    }
    if (position.has_value()) {
      const std::string pos = absl::StrCat(*position);
      rd_kafka_header_add(headers, kafka::kPositionHeader, -1, pos.data(), pos.size());
      rd_kafka_header_add(headers, kafka::kPrevPositionHeader, -1, "0", 1);
    }
    const int32_t partition = kafka::PartitionFor(key, broker_->options().partitions);
    ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  ProjectionRunner& coupon_runner() { return *runners_.back(); }

  // Set before SetUp: the relay's origin and the runners' (Options::origin).
  std::string origin_;
  absl::Mutex foreign_mu_;
  std::vector<std::string> foreign_seen_ ABSL_GUARDED_BY(foreign_mu_);
  // Set before SetUp by the parking tests: runners park on watch_.
  bool park_ = false;
  absl::Duration park_timeout_ = absl::Seconds(5);
  bool AllParked() {
    for (const auto& runner : runners_) {
      if (!runner->AwaitStats([](const ProjectionRunner::Stats& s) { return s.parked; },
                              absl::Now() + kSettle)) {
        return false;
      }
    }
    return true;
  }
  uint64_t Parks(ProjectionRunner& runner) { return runner.GetStats().parks; }

  testing::TempStore store_;
  kafka::ProduceWatch watch_;  // outlives the relay and the runners
  std::unique_ptr<kafka::EmbeddedBroker> broker_;
  std::unique_ptr<kafka::Relay> relay_;
  Notifier notifier_;
  StockProjection stock_;
  OrderSagaProjection saga_;
  FixableCoupons coupons_;
  DeadLetters dead_letters_{*store_};
  std::vector<std::unique_ptr<ProjectionRunner>> runners_;
};

TEST_F(ProjectionRunnerTest, OrdersFlowToConfirmedAndCancelled) {
  Append({Restock("sku-1", 10)});
  PlaceOrder("o1", "sku-1", 5);
  PlaceOrder("o2", "sku-1", 5);
  PlaceOrder("o3", "sku-1", 5);
  auto settled = [this](const std::string& id) {
    auto order = Row<v1::Order>(kOrdersCf, id);
    return order.has_value() && order->status() != v1::ORDER_STATUS_PENDING;
  };
  ASSERT_TRUE(WaitUntil([&] { return settled("o1") && settled("o2") && settled("o3"); }))
      << "orders did not settle within " << kSettle;
  EXPECT_EQ(Row<v1::Order>(kOrdersCf, "o1")->status(), v1::ORDER_STATUS_CONFIRMED);
  EXPECT_EQ(Row<v1::Order>(kOrdersCf, "o2")->status(), v1::ORDER_STATUS_CONFIRMED);
  v1::Order o3 = *Row<v1::Order>(kOrdersCf, "o3");
  EXPECT_EQ(o3.status(), v1::ORDER_STATUS_CANCELLED);
  EXPECT_EQ(o3.reason(), "insufficient stock for sku-1: requested 5, available 0");
  EXPECT_EQ(Row<v1::Stock>(kStockCf, "sku-1")->available(), 0);
}

TEST_F(ProjectionRunnerTest, EachEventsTransportAgeIsCutAtItsKafkaCreateTime) {
  Append({Restock("sku-1", 10)});
  PlaceOrder("o1", "sku-1", 2);
  ASSERT_TRUE(WaitUntil([&] {
    auto order = Row<v1::Order>(kOrdersCf, "o1");
    return order.has_value() && order->status() != v1::ORDER_STATUS_PENDING;
  })) << "the order did not settle within "
      << kSettle;
  auto total = [](const ProjectionRunner::SecondsHistogram& h) {
    uint64_t n = 0;
    for (uint64_t c : h.counts) n += c;
    return n;
  };
  size_t runners_with_events = 0;
  for (auto& runner : runners_) {
    const ProjectionRunner::Stats stats = runner->GetStats();
    const uint64_t events = total(stats.event_ages);
    if (events == 0) continue;
    ++runners_with_events;
    // The relay's messages keep their CreateTime through the broker: every
    // event's age has both parts, and they add up to it (each part is off
    // by under a millisecond: Kafka timestamps are whole milliseconds).
    EXPECT_EQ(total(stats.relay_ages), events);
    EXPECT_EQ(total(stats.kafka_ages), events);
    EXPECT_NEAR(stats.relay_ages.sum + stats.kafka_ages.sum, stats.event_ages.sum,
                0.001 * static_cast<double>(events));
  }
  EXPECT_EQ(runners_with_events, 2u) << "stock and order-saga applied events";
}

TEST_F(ProjectionRunnerTest, PoisonMessageGoesToDltWithHeadersAndNeighboursAreProcessed) {
  Append({Campaign("C", 10), CouponRequest("before", "u1")});
  ASSERT_TRUE(WaitUntil([&] { return Decided("before"); }));
  ClientHandle producer = Producer();
  const std::string poison("\xff\xfe not an event \x00\x01", 19);
  Produce(producer.get(), kafka::kCouponsTopic, "C", poison, std::nullopt);
  Append({CouponRequest("after", "u2")});
  ASSERT_TRUE(WaitUntil([&] { return Decided("after"); }));
  ASSERT_TRUE(coupon_runner().AwaitStats(
      [](const ProjectionRunner::Stats& s) { return s.dead_lettered >= 1; },
      absl::Now() + kSettle));
  EXPECT_EQ(Row<v1::CouponRequest>(kCouponRequestsCf, "after")->status(),
            v1::COUPON_REQUEST_STATUS_ISSUED);

  auto listed = dead_letters_.List(kafka::kCouponsTopic, 10);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  const v1::DeadLetter& row = (*listed)[0];
  EXPECT_EQ(row.value(), poison);
  EXPECT_EQ(row.key(), "C");
  EXPECT_EQ(row.original_topic(), kafka::kCouponsTopic);

  // Read it back from surge.coupons.dlt.
  auto conf = kafka::internal::MakeConf(
      {{"bootstrap.servers", broker_->bootstrap_servers()}, {"group.id", "dlt-reader"}});
  ASSERT_TRUE(conf.ok());
  auto consumer = kafka::internal::NewClient(RD_KAFKA_CONSUMER, std::move(*conf));
  ASSERT_TRUE(consumer.ok());
  const std::string dlt = kafka::DeadLetterTopic(kafka::kCouponsTopic);
  TopicPartitionListHandle list(rd_kafka_topic_partition_list_new(6));
  for (int p = 0; p < broker_->options().partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), dlt.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  ASSERT_EQ(rd_kafka_assign(consumer->get(), list.get()), RD_KAFKA_RESP_ERR_NO_ERROR);
  MessageHandle found;
  const absl::Time deadline = absl::Now() + kSettle;
  while (found == nullptr && absl::Now() < deadline) {
    MessageHandle msg(rd_kafka_consumer_poll(consumer->get(), 200));
    if (msg != nullptr && msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) found = std::move(msg);
  }
  ASSERT_NE(found, nullptr) << "nothing on " << dlt;
  EXPECT_EQ(row.id(), absl::StrCat(dlt, "/", found->partition, "/", found->offset));
  rd_kafka_headers_t* headers = nullptr;
  ASSERT_EQ(rd_kafka_message_headers(found.get(), &headers), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto header = [&](const char* name) {
    const void* v = nullptr;
    size_t n = 0;
    if (rd_kafka_header_get_last(headers, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return std::string("<missing>");
    }
    return std::string(static_cast<const char*>(v), n);
  };
  EXPECT_EQ(header(kDltOriginalTopicHeader), kafka::kCouponsTopic);
  EXPECT_EQ(header(kDltOriginalPartitionHeader), absl::StrCat(row.original_partition()));
  EXPECT_EQ(header(kDltOriginalOffsetHeader), absl::StrCat(row.original_offset()));
  EXPECT_EQ(header(kDltOriginalKeyHeader), "C");
  EXPECT_EQ(header(kDltAttemptsHeader), "1");
  EXPECT_NE(header(kDltErrorHeader).find("INVALID_ARGUMENT"), std::string::npos);
  EXPECT_NE(header(kDltFirstFailureHeader), "<missing>");
  const std::string value(static_cast<const char*>(found->payload), found->len);
  const std::string marker = "\"value_b64\":\"";
  const size_t at = value.find(marker);
  ASSERT_NE(at, std::string::npos) << value;
  const size_t end = value.find('"', at + marker.size());
  std::string decoded;
  ASSERT_TRUE(
      absl::Base64Unescape(value.substr(at + marker.size(), end - at - marker.size()), &decoded));
  EXPECT_EQ(decoded, poison);
  rd_kafka_consumer_close(consumer->get());
}

TEST_F(ProjectionRunnerTest, ReplayAfterFixAppliesExactlyOnce) {
  coupons_.Break("bad");
  Append({Campaign("C", 10), CouponRequest("bad", "u1"), CouponRequest("good", "u2")});
  ASSERT_TRUE(WaitUntil([&] { return Decided("good"); }));
  ASSERT_TRUE(coupon_runner().AwaitStats(
      [](const ProjectionRunner::Stats& s) { return s.dead_lettered >= 1; },
      absl::Now() + kSettle));
  EXPECT_FALSE(Decided("bad"));
  auto listed = dead_letters_.List("", 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].attempts(), 2);
  EXPECT_NE((*listed)[0].error().find("simulated bug"), std::string::npos);

  coupons_.Fix();
  auto replay = dead_letters_.Replay((*listed)[0].id());
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->applied);
  EXPECT_EQ(Row<v1::CouponRequest>(kCouponRequestsCf, "bad")->status(),
            v1::COUPON_REQUEST_STATUS_ISSUED);
  replay = dead_letters_.Replay((*listed)[0].id());
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(replay->applied);
  EXPECT_EQ(Row<v1::Campaign>(kCampaignsCf, "C")->issued(), 2);
  EXPECT_TRUE(Row<v1::DeadLetter>(kDeadLettersCf, (*listed)[0].id())->replayed());
}

TEST_F(ProjectionRunnerTest, RedeliveredMessagesChangeNothing) {
  Append({Restock("sku-1", 10), Campaign("C", 3)});
  PlaceOrder("o1", "sku-1", 4);
  for (int i = 0; i < 5; ++i) Append({CouponRequest(absl::StrCat("r", i), absl::StrCat("u", i))});
  ASSERT_TRUE(WaitUntil([&] {
    auto order = Row<v1::Order>(kOrdersCf, "o1");
    return Decided("r4") && order.has_value() && order->status() == v1::ORDER_STATUS_CONFIRMED;
  }));
  const uint64_t head = store_->HeadPosition();
  auto log = store_->ReadAll(1, 1000);
  ASSERT_TRUE(log.ok());
  const auto rows_before = store_->Scan(kCouponRequestsCf, "", 100);
  std::vector<uint64_t> duplicates_before;
  for (auto& runner : runners_) duplicates_before.push_back(runner->GetStats().duplicates);

  // The relay is asked to re-send, and every event of the log is re-sent
  // by hand too (as a rewound relay would, prev chain restarting at 0).
  relay_->RequestReplay(1);
  ClientHandle producer = Producer();
  std::map<std::string, uint64_t> resent_per_topic;
  for (const v1::Event& event : *log) {
    auto route = kafka::RouteEvent(event);
    ASSERT_TRUE(route.ok()) << route.status();
    Produce(producer.get(), route->topic, route->key, event.SerializeAsString(), event.position());
    ++resent_per_topic[route->topic];
  }
  const std::vector<std::string> topics = {kafka::kStockTopic, kafka::kOrdersTopic,
                                           kafka::kCouponsTopic};
  for (size_t i = 0; i < runners_.size(); ++i) {
    const uint64_t want = duplicates_before[i] + resent_per_topic[topics[i]];
    EXPECT_TRUE(runners_[i]->AwaitStats(
        [want](const ProjectionRunner::Stats& s) { return s.duplicates >= want; },
        absl::Now() + kSettle))
        << topics[i] << " saw " << runners_[i]->GetStats().duplicates << " duplicates, want "
        << want;
  }
  EXPECT_EQ(store_->HeadPosition(), head);
  EXPECT_EQ(store_->Scan(kCouponRequestsCf, "", 100).value(), rows_before.value());
  EXPECT_EQ(Row<v1::Campaign>(kCampaignsCf, "C")->issued(), 3);
  EXPECT_EQ(Row<v1::Stock>(kStockCf, "sku-1")->available(), 6);
}

// Runners of a single node on a shared Kafka: they know their log's origin.
class OriginCheckingRunnerTest : public ProjectionRunnerTest {
 protected:
  void SetUp() override {
    origin_ = "node-1~00000000000000aa";
    ProjectionRunnerTest::SetUp();
  }
};

TEST_F(OriginCheckingRunnerTest, AnotherLogsEventStopsTheRunnerBeforeItIsApplied) {
  Append({Campaign("C", 3)});
  Append({CouponRequest("r0", "u0")});
  ASSERT_TRUE(WaitUntil([&] { return Decided("r0"); }));
  ClientHandle producer = Producer();
  auto log = store_->ReadAll(1, 100);
  ASSERT_TRUE(log.ok());
  // A copy of our own event labelled with the bare node id (as before the
  // origin existed) is ours: a duplicate, not another log.
  v1::Event own;
  for (const v1::Event& e : *log) {
    if (e.has_coupon_requested()) own = e;
  }
  ASSERT_TRUE(own.has_coupon_requested());
  const uint64_t duplicates = coupon_runner().GetStats().duplicates;
  auto own_route = kafka::RouteEvent(own);
  ASSERT_TRUE(own_route.ok()) << own_route.status();
  Produce(producer.get(), own_route->topic, own_route->key, own.SerializeAsString(), own.position(),
          "node-1");
  EXPECT_TRUE(coupon_runner().AwaitStats(
      [&](const ProjectionRunner::Stats& s) { return s.duplicates > duplicates; },
      absl::Now() + kSettle));
  EXPECT_EQ(coupon_runner().GetStats().foreign_origin, "");

  // Another node's log, same node id, position past ours.
  v1::Event foreign = CouponRequest("r1", "u1");
  foreign.set_position(store_->HeadPosition() + 1);
  auto route = kafka::RouteEvent(foreign);
  ASSERT_TRUE(route.ok()) << route.status();
  Produce(producer.get(), route->topic, route->key, foreign.SerializeAsString(), foreign.position(),
          "node-1~00000000000000bb");
  EXPECT_TRUE(coupon_runner().AwaitStats(
      [](const ProjectionRunner::Stats& s) { return !s.foreign_origin.empty(); },
      absl::Now() + kSettle));
  EXPECT_EQ(coupon_runner().GetStats().foreign_origin, "node-1~00000000000000bb");
  {
    absl::MutexLock lock(&foreign_mu_);
    EXPECT_EQ(foreign_seen_, std::vector<std::string>{"node-1~00000000000000bb"});
  }
  // Stopped before the batch that held it was applied: r1 has no row.
  EXPECT_FALSE(Row<v1::CouponRequest>(kCouponRequestsCf, "r1").has_value());
}

// Runners that park on the relay's produce watch when idle (the server's
// embedded configuration).
class ParkingRunnerTest : public ProjectionRunnerTest {
 protected:
  void SetUp() override {
    park_ = true;
    park_timeout_ = absl::Milliseconds(500);
    ProjectionRunnerTest::SetUp();
  }
};

TEST_F(ParkingRunnerTest, IdleRunnersParkAndTheRelaysNextEventWakesThem) {
  ASSERT_TRUE(AllParked()) << "runners did not park on an idle broker within " << kSettle;
  const uint64_t parks_before = Parks(*runners_[0]);
  Append({Restock("sku-1", 10)});
  PlaceOrder("o1", "sku-1", 4);
  auto confirmed = [this](const std::string& id) {
    auto order = Row<v1::Order>(kOrdersCf, id);
    return order.has_value() && order->status() == v1::ORDER_STATUS_CONFIRMED;
  };
  ASSERT_TRUE(WaitUntil([&] { return confirmed("o1"); })) << "o1 not confirmed in " << kSettle;
  // Idle again: parked again, and the next order still flows.
  ASSERT_TRUE(runners_[0]->AwaitStats(
      [&](const ProjectionRunner::Stats& s) { return s.parked && s.parks > parks_before; },
      absl::Now() + kSettle));
  PlaceOrder("o2", "sku-1", 4);
  ASSERT_TRUE(WaitUntil([&] { return confirmed("o2"); })) << "o2 not confirmed in " << kSettle;
  EXPECT_EQ(Row<v1::Stock>(kStockCf, "sku-1")->available(), 2);
  for (const auto& runner : runners_) {
    EXPECT_TRUE(runner->AwaitStats(
        [](const ProjectionRunner::Stats& s) { return s.parked && s.lag_messages == 0; },
        absl::Now() + kSettle))
        << "a runner did not park with no lag: " << runner->GetStats().lag_messages;
  }
}

TEST_F(ParkingRunnerTest, AMessageFromAnotherProducerIsConsumedAfterTheParkTimeout) {
  Append({Campaign("C", 10), CouponRequest("before", "u1")});
  ASSERT_TRUE(WaitUntil([&] { return Decided("before"); }));
  ASSERT_TRUE(AllParked());
  // Not through the relay: nobody tells the watch. The runner finds it when
  // its park times out.
  ClientHandle producer = Producer();
  Produce(producer.get(), kafka::kCouponsTopic, "C", "not an event", std::nullopt);
  ASSERT_TRUE(coupon_runner().AwaitStats(
      [](const ProjectionRunner::Stats& s) { return s.dead_lettered >= 1; }, absl::Now() + kSettle))
      << "the foreign message was not consumed within " << kSettle;
}

TEST(ProjectionPipelineTest, RunsAllThreeProjectionsAndReportsTheirPositions) {
  auto broker = kafka::EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  testing::TempStore store;
  kafka::Relay::Options relay_options;
  relay_options.bootstrap_servers = (*broker)->bootstrap_servers();
  auto relay = kafka::Relay::Create(relay_options, *store);
  ASSERT_TRUE(relay.ok());
  Notifier notifier;
  ProjectionPipeline::Options options;
  options.bootstrap_servers = (*broker)->bootstrap_servers();
  options.on_applied = [&] {
    notifier.Notify();
    (*relay)->NotifyApplied();
  };
  options.request_replay = [&](uint64_t from) { (*relay)->RequestReplay(from); };
  auto pipeline = ProjectionPipeline::Start(options, *store);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  ASSERT_TRUE((*relay)->Start().ok());

  eventstore::AppendRequest request;
  v1::Event campaign;
  campaign.set_stream_id("campaign-P");
  campaign.mutable_campaign_created()->set_code("P");
  campaign.mutable_campaign_created()->set_total_quantity(1);
  v1::Event coupon;
  coupon.set_stream_id("campaign-P");
  coupon.mutable_coupon_requested()->set_request_id("req");
  coupon.mutable_coupon_requested()->set_user_id("u");
  coupon.mutable_coupon_requested()->set_code("P");
  request.events = {campaign, coupon};
  ASSERT_TRUE(store->Append(std::move(request)).ok());

  const absl::Time deadline = absl::Now() + kSettle;
  auto issued = [&] {
    auto bytes = store->Get(kCouponRequestsCf, "req");
    v1::CouponRequest row;
    return bytes.ok() && bytes->has_value() && row.ParseFromString(**bytes) &&
           row.status() == v1::COUPON_REQUEST_STATUS_ISSUED;
  };
  // on_applied runs after the runner's stats moved, so wait for both.
  auto settled = [&] { return issued() && (*pipeline)->GetStats()[2].stats.applied_position == 2; };
  for (uint64_t seen = notifier.sequence(); !settled(); seen = notifier.sequence()) {
    ASSERT_TRUE(notifier.WaitPast(seen, deadline)) << "coupon not issued within " << kSettle;
  }
  auto stats = (*pipeline)->GetStats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[2].topic, kafka::kCouponsTopic);
  EXPECT_EQ(stats[2].projection, "coupons");
  EXPECT_EQ(stats[2].stats.applied_position, 2u);
  pipeline->reset();
  relay->reset();
}

}  // namespace
}  // namespace surge::projections
