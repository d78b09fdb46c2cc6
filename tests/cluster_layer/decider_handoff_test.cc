// Deciders in one process on the embedded (mock) broker: one decides a
// campaign's partition, leaves the group, and the other restores the
// partition's state from the changelog and goes on exactly where it
// stopped: no coupon issued twice, never more than the quantity, re-sent
// inputs skipped, and the coupon numbering continued.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "cluster/decider.h"
#include "cluster/view.h"
#include "gtest/gtest.h"
#include "kafka/embedded_broker.h"
#include "kafka/internal/config.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"
#include "projections/coupon_projection.h"
#include "projections/read_models.h"
#include "surge/v1/surge.pb.h"
#include "tests/domain/test_store.h"
#include "tests/projections/fixable_coupons.h"
#include "tests/support/temp_dir.h"

namespace surge::cluster {
namespace {

constexpr absl::Duration kWait = absl::Seconds(60);
constexpr char kOrigin[] = "client~0000000000000001";

// Produces events as a node's relay would: value = the event, headers with
// its position, origin and the gap protocol's previous position.
class InputProducer {
 public:
  explicit InputProducer(const std::string& bootstrap) {
    auto conf = kafka::internal::MakeConf({{"bootstrap.servers", bootstrap}, {"acks", "all"}});
    producer_ = *kafka::internal::NewClient(RD_KAFKA_PRODUCER, *std::move(conf));
  }
  void Send(v1::Event event, uint64_t position, uint64_t prev, int32_t partition = 0) {
    event.set_position(position);
    event.set_event_id(absl::StrCat("client:", position));
    const std::string key = event.has_campaign_created() ? event.campaign_created().code()
                                                         : event.coupon_requested().code();
    rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
    const std::string pos = absl::StrCat(position);
    const std::string before = absl::StrCat(prev);
    rd_kafka_header_add(headers, kafka::kPositionHeader, -1, pos.data(), pos.size());
    rd_kafka_header_add(headers, kafka::kOriginHeader, -1, kOrigin, -1);
    rd_kafka_header_add(headers, kafka::kPrevPositionHeader, -1, before.data(), before.size());
    Produce(key, event.SerializeAsString(), headers, partition);
  }
  // Many events at once, acknowledged together: positions first..,
  // each with its predecessor as the previous position.
  void SendMany(const std::vector<v1::Event>& events, uint64_t first, int32_t partition = 0) {
    uint64_t position = first;
    for (v1::Event event : events) {
      event.set_position(position);
      event.set_event_id(absl::StrCat("client:", position));
      const std::string key = event.coupon_requested().code();
      const std::string value = event.SerializeAsString();
      rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
      const std::string pos = absl::StrCat(position);
      const std::string before = absl::StrCat(position - 1);
      rd_kafka_header_add(headers, kafka::kPositionHeader, -1, pos.data(), pos.size());
      rd_kafka_header_add(headers, kafka::kOriginHeader, -1, kOrigin, -1);
      rd_kafka_header_add(headers, kafka::kPrevPositionHeader, -1, before.data(), before.size());
      rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__QUEUE_FULL;
      while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        err = rd_kafka_producev(
            producer_.get(), RD_KAFKA_V_TOPIC(kafka::kCouponsTopic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer_.get(), 100);
      }
      ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR);
      ++position;
    }
    ASSERT_EQ(rd_kafka_flush(producer_.get(), 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  // [low, high) of a partition.
  std::pair<int64_t, int64_t> Watermarks(const std::string& topic, int32_t partition) {
    int64_t low = -1;
    int64_t high = -1;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(producer_.get(), topic.c_str(), partition, &low,
                                               &high, 10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    return {low, high};
  }
  // The same message again with a replay header: a second node handing
  // back the same dead letter.
  void SendReplay(const std::string& key, const std::string& value, const std::string& replay_of) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(1);
    rd_kafka_header_add(headers, kafka::kReplayOfHeader, -1, replay_of.data(), replay_of.size());
    Produce(key, value, headers);
  }

 private:
  // Acknowledged; takes `headers`.
  void Produce(const std::string& key, const std::string& value, rd_kafka_headers_t* headers,
               int32_t partition = 0) {
    ASSERT_EQ(
        rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(kafka::kCouponsTopic),
                          RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(key.data(), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer_.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  kafka::internal::ClientHandle producer_;
};

v1::Event Campaign(int64_t quantity) {
  v1::Event e;
  e.set_stream_id("campaign-C");
  e.mutable_campaign_created()->set_code("C");
  e.mutable_campaign_created()->set_total_quantity(quantity);
  e.mutable_campaign_created()->set_per_user_limit(1);
  return e;
}

// `pad` lengthens the user id: big rows fill the changelog sooner.
v1::Event Request(int user, size_t pad = 0) {
  v1::Event e;
  e.set_stream_id("coupon-C");
  v1::CouponRequested* r = e.mutable_coupon_requested();
  r->set_request_id(absl::StrCat("r", user));
  r->set_user_id(absl::StrCat("u", user, std::string(pad, '.')));
  r->set_code("C");
  return e;
}

using projections::testing::FixableCoupons;

class DeciderHandoffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka::EmbeddedBroker::Options options;
    options.brokers = 1;
    options.partitions = 2;
    options.replication_factor = 1;
    auto broker = kafka::EmbeddedBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    ASSERT_TRUE(broker_->CreateTopic(kafka::ChangelogTopic(kafka::kCouponsTopic), 2).ok());
  }

  std::unique_ptr<Decider> Make(const std::string& node, eventstore::EventStore& store,
                                std::function<bool(uint64_t, absl::Time)> await_delivered = {},
                                const View* standby = nullptr) {
    Decider::Options options;
    options.await_delivered = std::move(await_delivered);
    if (standby != nullptr) {
      options.standby = [standby](int32_t partition) {
        return standby->Warm(kafka::ChangelogTopic(kafka::kCouponsTopic), partition);
      };
    }
    options.bootstrap_servers = broker_->bootstrap_servers();
    options.topic = kafka::kCouponsTopic;
    options.node_id = node;
    options.origin = node + "~00";
    // The broker's group.min.session.timeout.ms (6 s, as Kafka's default):
    // a shorter one is refused and the member never joins.
    options.session_timeout_ms = 6000;
    options.assignment_strategy = strategy_;
    options.consumer_config["fetch.wait.max.ms"] = "5";
    auto decider = Decider::Create(options, coupons_, store);
    EXPECT_TRUE(decider.ok()) << decider.status();
    return decider.ok() ? *std::move(decider) : nullptr;
  }

  // A decider of its own group's only member: it owns both partitions.
  std::unique_ptr<Decider> StartAlone(const std::string& node, eventstore::EventStore& store) {
    std::unique_ptr<Decider> decider = Make(node, store);
    if (decider == nullptr) return nullptr;
    EXPECT_TRUE(decider->Start().ok());
    EXPECT_TRUE(Await([&] { return decider->owned().size() == 2; }))
        << node << " never got the partitions";
    return decider;
  }

  static bool Await(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(20));  // polling a condition, bounded
    }
    return done();
  }

  // request_id -> coupon id (or "rejected") over both logs; fails on a
  // request decided two different ways. `event_ids` gets the decisions' ids.
  std::map<std::string, std::string> Decisions(
      std::map<std::string, std::string>* event_ids = nullptr) {
    std::map<std::string, std::string> out;
    for (eventstore::EventStore* store : {store_a_.get(), store_b_.get()}) {
      for (const v1::Event& e : domain::AllEvents(*store)) {
        std::string id;
        std::string outcome;
        if (e.has_coupon_issued()) {
          id = e.coupon_issued().request_id();
          outcome = e.coupon_issued().coupon_id();
        } else if (e.has_coupon_rejected()) {
          id = e.coupon_rejected().request_id();
          outcome = "rejected";
        } else {
          continue;
        }
        auto [it, inserted] = out.emplace(id, outcome);
        EXPECT_EQ(it->second, outcome) << "request " << id << " decided two ways";
        if (event_ids != nullptr) (*event_ids)[id] = e.event_id();
      }
    }
    return out;
  }

  std::string strategy_ = "range";
  FixableCoupons coupons_;
  std::unique_ptr<kafka::EmbeddedBroker> broker_;
  testing::TempDir dir_a_;
  testing::TempDir dir_b_;
  std::unique_ptr<eventstore::EventStore> store_a_ = domain::OpenTestStore(dir_a_);
  std::unique_ptr<eventstore::EventStore> store_b_ = domain::OpenTestStore(dir_b_);
};

TEST_F(DeciderHandoffTest, TheNextOwnerRestoresTheStateAndGoesOn) {
  std::unique_ptr<Decider> a = StartAlone("a", *store_a_);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->owned().size(), 2u);

  InputProducer input(broker_->bootstrap_servers());
  input.Send(Campaign(10), 1, 0);
  for (int u = 0; u < 6; ++u) input.Send(Request(u), 2 + u, 1 + u);
  ASSERT_TRUE(Await([&] { return a->GetStats().applied == 7; }))
      << "a decided " << a->GetStats().applied << " of 7";
  EXPECT_EQ(Decisions().size(), 6u);

  std::unique_ptr<Decider> b = Make("b", *store_b_);
  ASSERT_TRUE(b->Start().ok());
  a->Stop();  // leaves the group: b gets both partitions in one rebalance
  ASSERT_TRUE(Await([&] { return b->owned().size() == 2; })) << "b never got the partitions";
  const Decider::Stats restored = b->GetStats();
  EXPECT_GE(restored.restores, 2u);
  // Campaign row, six request rows, six holdings, the client's mark.
  EXPECT_EQ(restored.restored_keys, 14u);
  // The campaign's partition had a's records (epoch 1): b writes epoch 2.
  int64_t epoch = 0;
  for (const Decider::OwnedPartition& p : b->owned()) epoch = std::max(epoch, p.epoch);
  EXPECT_EQ(epoch, 2);

  // A re-sent input (the relay is at-least-once) and six new requests.
  input.Send(Request(3), 5, 0);
  for (int u = 6; u < 12; ++u) input.Send(Request(u), 2 + u, 1 + u);
  ASSERT_TRUE(Await([&] { return b->GetStats().applied == 6; }))
      << "b decided " << b->GetStats().applied << " of 6";
  EXPECT_EQ(b->GetStats().duplicates, 1u);

  const std::map<std::string, std::string> decisions = Decisions();
  EXPECT_EQ(decisions.size(), 12u);
  std::set<std::string> coupons;
  int rejected = 0;
  for (const auto& [request, outcome] : decisions) {
    if (outcome == "rejected") {
      ++rejected;
    } else {
      EXPECT_TRUE(coupons.insert(outcome).second) << outcome << " issued twice";
    }
  }
  EXPECT_EQ(coupons.size(), 10u);
  EXPECT_EQ(rejected, 2);
  EXPECT_TRUE(coupons.count("C-10")) << "the numbering did not continue after the handoff";
}

// A decider that cannot finish its batch (its decisions not in Kafka yet)
// shows the input it has not decided as lag, which the node exports as
// surge_projection_lag_messages; once it catches up the lag is 0 and the
// decided offsets moved.
// A partition that stops getting input is snapshotted after
// Options::snapshot_when_idle, far below the interval's 200 records: a view
// that fell behind the changelog's retention resumes at a snapshot, and
// after a sale's last burst no interval snapshot would come. A cold next
// owner then starts from that snapshot with no record after it.
TEST_F(DeciderHandoffTest, AnIdlePartitionIsSnapshottedWellBeforeTheInterval) {
  std::unique_ptr<Decider> a = StartAlone("a", *store_a_);
  ASSERT_NE(a, nullptr);
  InputProducer input(broker_->bootstrap_servers());
  input.Send(Campaign(10), 1, 0);
  for (int u = 0; u < 4; ++u) input.Send(Request(u), 2 + u, 1 + u);
  ASSERT_TRUE(Await([&] { return a->GetStats().applied == 5; }))
      << "a decided " << a->GetStats().applied << " of 5";
  ASSERT_TRUE(Await([&] { return a->GetStats().snapshots >= 1; }))
      << "no snapshot after " << a->GetStats().changelog_records << " records and idleness";
  const Decider::Stats idle = a->GetStats();
  EXPECT_LT(idle.changelog_records, 200u) << "the interval, not idleness, took the snapshot";
  EXPECT_EQ(idle.snapshot_failures, 0u);

  std::unique_ptr<Decider> b = Make("b", *store_b_);  // no standby: a cold restore
  ASSERT_TRUE(b->Start().ok());
  a->Stop();
  ASSERT_TRUE(Await([&] { return b->owned().size() == 2; })) << "b never got the partitions";
  const Decider::Stats restored = b->GetStats();
  EXPECT_GE(restored.restores_from_snapshot, 1u);
  EXPECT_EQ(restored.restored_records, 0u) << "nothing was written after the idle snapshot";
  EXPECT_EQ(restored.restored_keys, 10u);  // campaign, 4 requests, 4 holdings, the mark
}

TEST_F(DeciderHandoffTest, ADecidersInputLagShowsWhatItHasNotDecided) {
  absl::Notification release;
  std::unique_ptr<Decider> a = Make("a", *store_a_, [&](uint64_t, absl::Time deadline) {
    return release.WaitForNotificationWithDeadline(deadline);
  });
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(Await([&] { return a->owned().size() == 2; })) << "a never got the partitions";
  EXPECT_EQ(a->GetStats().input_lag_messages, 0u);

  InputProducer input(broker_->bootstrap_servers());
  input.Send(Campaign(10), 1, 0);
  ASSERT_TRUE(Await([&] { return a->GetStats().input_lag_messages >= 1; }))
      << "no lag while the first batch waits: " << a->GetStats().input_lag_messages;
  for (int u = 0; u < 5; ++u) input.Send(Request(u), 2 + u, 1 + u);
  release.Notify();
  ASSERT_TRUE(Await([&] { return a->GetStats().applied == 6; }))
      << "a decided " << a->GetStats().applied << " of 6";
  ASSERT_TRUE(Await([&] { return a->GetStats().input_lag_messages == 0; }))
      << "lag after catching up: " << a->GetStats().input_lag_messages;
  EXPECT_EQ(a->GetStats().input_offsets, 6u) << "all six inputs are on partition 0";
}

TEST_F(DeciderHandoffTest, ADeadLetterHandedBackIsDecidedOnceByThePartitionsNextOwner) {
  coupons_.Break("r2");
  std::unique_ptr<Decider> a = StartAlone("a", *store_a_);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->owned().size(), 2u);
  InputProducer input(broker_->bootstrap_servers());
  input.Send(Campaign(10), 1, 0);
  for (int u = 0; u < 4; ++u) input.Send(Request(u), 2 + u, 1 + u);
  ASSERT_TRUE(Await([&] {
    const Decider::Stats stats = a->GetStats();
    return stats.applied == 4 && stats.dead_lettered == 1;
  })) << "a decided "
      << a->GetStats().applied << " of 4 and dead-lettered " << a->GetStats().dead_lettered
      << " of 1";
  EXPECT_EQ(Decisions().count("r2"), 0u);
  auto rows = store_a_->Scan(projections::kDeadLettersCf, "", 10);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  v1::DeadLetter dead;
  ASSERT_TRUE(dead.ParseFromString(rows->front().second));
  EXPECT_FALSE(dead.replayed());

  // The fix is deployed; b owns the partition now (a left the group).
  coupons_.Fix();
  std::unique_ptr<Decider> b = Make("b", *store_b_);
  ASSERT_TRUE(b->Start().ok());
  a->Stop();
  ASSERT_TRUE(Await([&] { return b->owned().size() == 2; })) << "b never got the partitions";

  // a still holds the row: the replay goes through Kafka to b.
  EXPECT_EQ(a->ReplayDeadLetter("surge.coupons.dlt/0/999").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<Decider::Result> replayed = a->ReplayDeadLetter(dead.id());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_TRUE(replayed->applied) << replayed->result;
  ASSERT_TRUE(Await([&] { return b->GetStats().applied == 1; }))
      << "b decided " << b->GetStats().applied << " of the 1 replay";
  std::map<std::string, std::string> ids;
  std::map<std::string, std::string> decisions = Decisions(&ids);
  ASSERT_EQ(decisions.count("r2"), 1u);
  EXPECT_EQ(decisions["r2"], "C-4");
  EXPECT_EQ(ids["r2"], dead.id() + "/replay/coupons/0");

  // Once per id: the same call again is refused by the row, and the same
  // message handed back again (say, by a node that did not see the row
  // marked) is skipped by the owner.
  replayed = a->ReplayDeadLetter(dead.id());
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_FALSE(replayed->applied);
  input.SendReplay("C", dead.value(), dead.id());
  input.Send(Request(9), 6, 5);  // and a new request after it, to know it was read
  ASSERT_TRUE(Await([&] { return b->GetStats().applied == 2; }))
      << "b decided " << b->GetStats().applied << " of 2";
  EXPECT_EQ(b->GetStats().duplicates, 1u);
  decisions = Decisions();
  EXPECT_EQ(decisions.size(), 5u);
  EXPECT_EQ(decisions["r9"], "C-5");
}

TEST_F(DeciderHandoffTest, APartitionWhoseChangelogLostRecordsIsOwnedButNotDecided) {
  // The mock broker keeps about 5 MiB per partition: 6 MiB of records push
  // the first ones out of coupons.changelog/0, as retention would.
  {
    auto conf = kafka::internal::MakeConf({{"bootstrap.servers", broker_->bootstrap_servers()},
                                           {"acks", "all"},
                                           {"message.max.bytes", "2000000"}});
    ASSERT_TRUE(conf.ok()) << conf.status();
    auto producer = kafka::internal::NewClient(RD_KAFKA_PRODUCER, *std::move(conf));
    ASSERT_TRUE(producer.ok()) << producer.status();
    const std::string changelog = kafka::ChangelogTopic(kafka::kCouponsTopic);
    const std::string filler(1 << 20, 'x');
    for (int i = 0; i < 6; ++i) {
      ASSERT_EQ(rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(changelog.c_str()),
                                  RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_VALUE(const_cast<char*>(filler.data()), filler.size()),
                                  RD_KAFKA_V_END),
                RD_KAFKA_RESP_ERR_NO_ERROR);
      ASSERT_EQ(rd_kafka_flush(producer->get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  std::unique_ptr<Decider> a = StartAlone("a", *store_a_);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->owned().size(), 2u);
  EXPECT_EQ(a->GetStats().blocked_partitions, 1u);
  for (const Decider::OwnedPartition& p : a->owned()) {
    EXPECT_EQ(p.blocked, p.partition == 0) << "partition " << p.partition;
  }

  // Partition 0's inputs first, then partition 1's: only partition 1 is
  // decided.
  InputProducer input(broker_->bootstrap_servers());
  input.Send(Campaign(10), 1, 0, /*partition=*/0);
  input.Send(Request(0), 2, 1, /*partition=*/0);
  input.Send(Campaign(10), 3, 0, /*partition=*/1);
  input.Send(Request(1), 4, 3, /*partition=*/1);
  // The stats move after a batch's decisions are in the log (and its
  // changelog record written): wait on them, then read the log.
  ASSERT_TRUE(Await([&] { return a->GetStats().applied >= 2; }))
      << "nothing decided; applied " << a->GetStats().applied;
  const std::map<std::string, std::string> decisions = Decisions();
  EXPECT_EQ(decisions.count("r1"), 1u) << "partition 1 was not decided";
  EXPECT_EQ(decisions.count("r0"), 0u) << "partition 0 was decided on a partial state";
  EXPECT_EQ(a->GetStats().applied, 2u);
}

// Node b's view mirrors the changelog while a decides: when a leaves, b
// starts both partitions from its view's copies (warm standbys) and reads
// only what they had not read yet, then decides on exactly as a would.
TEST_F(DeciderHandoffTest, AGainedPartitionStartsFromTheNodesWarmStandby) {
  View::Options view_options;
  view_options.bootstrap_servers = broker_->bootstrap_servers();
  view_options.node_id = "b";
  view_options.origin = "b~00";
  view_options.deciders = {{"coupons", kafka::kCouponsTopic}};
  view_options.partitions = 2;
  auto view = View::Create(view_options, *store_b_);
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_TRUE((*view)->Start().ok());

  std::unique_ptr<Decider> a = StartAlone("a", *store_a_);
  ASSERT_NE(a, nullptr);
  InputProducer input(broker_->bootstrap_servers());
  input.Send(Campaign(20), 1, 0);
  std::vector<v1::Event> requests;
  for (int u = 0; u < 600; ++u) requests.push_back(Request(u));
  input.SendMany(requests, 2);
  ASSERT_TRUE(Await([&] { return a->GetStats().applied == 601; }))
      << "a decided " << a->GetStats().applied << " of 601";
  const std::string changelog = kafka::ChangelogTopic(kafka::kCouponsTopic);
  ASSERT_TRUE(Await([&] {
    auto warm = (*view)->Warm(changelog, 0);
    return warm.has_value() && warm->state.next_offset() == 601;
  })) << "b's view never caught up with partition 0";

  std::unique_ptr<Decider> b = Make("b", *store_b_, {}, view->get());
  ASSERT_TRUE(b->Start().ok());
  a->Stop();
  ASSERT_TRUE(Await([&] { return b->owned().size() == 2; })) << "b never got the partitions";
  const Decider::Stats restored = b->GetStats();
  EXPECT_EQ(restored.restores_from_standby, 2u);
  EXPECT_EQ(restored.restores_from_snapshot, 0u);
  EXPECT_EQ(restored.restored_records, 0u) << "the view had read every record";
  EXPECT_EQ(restored.blocked_partitions, 0u);
  // Campaign, 20 issued requests, 20 holdings, the client's mark: the
  // rejected requests are the views', not the state's.
  EXPECT_EQ(restored.restored_keys, 42u);

  std::vector<v1::Event> more;
  for (int u = 600; u < 610; ++u) more.push_back(Request(u));
  input.SendMany(more, 602);
  ASSERT_TRUE(Await([&] { return b->GetStats().applied == 10; }))
      << "b decided " << b->GetStats().applied << " of 10";
  const std::map<std::string, std::string> decided = Decisions();
  EXPECT_EQ(decided.size(), 610u);
  std::set<std::string> coupons;
  for (const auto& [request, outcome] : decided) {
    if (outcome != "rejected") EXPECT_TRUE(coupons.insert(outcome).second) << outcome;
  }
  EXPECT_EQ(coupons.size(), 20u);
}

// cooperative-sticky on the embedded (mock) broker: a second member joining
// takes one partition; the first keeps the other without losing it (no
// revocation, no restore) and decides it all through the rebalance.
TEST_F(DeciderHandoffTest, ACooperativeRebalanceMovesOnlyThePartitionThatChangesOwner) {
  strategy_ = "cooperative-sticky";
  std::unique_ptr<Decider> a = StartAlone("a", *store_a_);
  ASSERT_NE(a, nullptr);
  const Decider::Stats alone = a->GetStats();
  EXPECT_EQ(alone.restores, 2u);

  std::unique_ptr<Decider> b = Make("b", *store_b_);
  ASSERT_TRUE(b->Start().ok());
  // The protocol's first round: a gives up one partition and keeps the
  // other; b gets the first in a second round (on the mock, a session
  // timeout - 1 s later). In between, a decides its kept partition.
  ASSERT_TRUE(Await([&] { return a->owned().size() == 1; })) << "a never gave a partition up";
  const int32_t kept_early = a->owned()[0].partition;
  InputProducer input(broker_->bootstrap_servers());
  input.Send(Campaign(10), 1, 0, kept_early);
  ASSERT_TRUE(Await([&] { return a->GetStats().applied == 1; })) << "a stopped deciding";
  EXPECT_TRUE(b->owned().empty())
      << "the input was decided only after the rebalance ended: nothing shows decisions went on";
  ASSERT_TRUE(Await([&] { return a->owned().size() == 1 && b->owned().size() == 1; }))
      << "a owns " << a->owned().size() << ", b owns " << b->owned().size();
  const int32_t kept = a->owned()[0].partition;
  EXPECT_EQ(kept, kept_early);
  const int32_t moved = b->owned()[0].partition;
  EXPECT_NE(kept, moved);
  const Decider::Stats after = a->GetStats();
  EXPECT_EQ(after.restores, 2u) << "a restored again: its kept partition was revoked";
  // One incremental revocation (the moved partition), not a revocation of
  // everything followed by a new assignment.
  EXPECT_EQ(after.rebalances - alone.rebalances, 1u);
  EXPECT_EQ(b->GetStats().restores, 1u);

  // Both go on deciding their own partition.
  input.Send(Request(0), 2, 1, kept);
  input.Send(Campaign(10), 3, 0, moved);
  input.Send(Request(1), 4, 3, moved);
  ASSERT_TRUE(Await([&] { return a->GetStats().applied == 2 && b->GetStats().applied == 2; }))
      << "a decided " << a->GetStats().applied << ", b " << b->GetStats().applied << " of 2 each";
  EXPECT_EQ(Decisions().size(), 2u);
}

// A long flash sale: its changelog partition holds far more than the broker
// keeps (the mock keeps about 5 MiB a partition and drops the oldest), so
// its first records are gone. The next owner restores the partition from
// the latest complete snapshot and the records after it, and decides on:
// exactly the quantity issued, nobody twice, a re-sent input and a second
// request for an issued coupon (another node's copy) not decided again.
TEST_F(DeciderHandoffTest, AHistoryPastTheBrokersRetentionIsRestoredFromASnapshot) {
  constexpr int kQuantity = 50;
  constexpr int kRequests = 7000;
  constexpr size_t kPad = 1000;  // ~1 KiB rows: 7 MiB of decisions
  std::unique_ptr<Decider> a = StartAlone("a", *store_a_);
  ASSERT_NE(a, nullptr);
  InputProducer input(broker_->bootstrap_servers());
  input.Send(Campaign(kQuantity), 1, 0);
  // In rounds, each decided before the next is sent: the input topic has
  // the same retention, and inputs it dropped before they were decided
  // would be a gap (never decided), not history.
  constexpr int kRound = 1000;
  for (int first = 0; first < kRequests; first += kRound) {
    std::vector<v1::Event> round;
    for (int u = first; u < first + kRound; ++u) round.push_back(Request(u, kPad));
    input.SendMany(round, 2 + static_cast<uint64_t>(first));
    ASSERT_TRUE(Await([&] { return a->GetStats().applied == 1u + first + kRound; }))
        << "a decided " << a->GetStats().applied << " of " << 1 + first + kRound;
  }
  const Decider::Stats before = a->GetStats();
  EXPECT_GE(before.snapshots, 2u);
  EXPECT_EQ(before.snapshot_failures, 0u);
  const std::string changelog = kafka::ChangelogTopic(kafka::kCouponsTopic);
  const auto [low, high] = input.Watermarks(changelog, 0);
  ASSERT_GT(low, 0) << "the broker kept the whole changelog (" << high
                    << " records): the test needs a history past its retention";
  // The state holds the issued requests and holdings, not the rejected
  // requests: a snapshot weighs what the quantity does, not the sale.
  for (const Decider::OwnedPartition& p : a->owned()) {
    if (p.partition == 0) EXPECT_LT(p.state_bytes, 200u * 1024) << "partition 0's state";
  }

  std::unique_ptr<Decider> b = Make("b", *store_b_);
  ASSERT_TRUE(b->Start().ok());
  a->Stop();
  ASSERT_TRUE(Await([&] { return b->owned().size() == 2; })) << "b never got the partitions";
  const Decider::Stats restored = b->GetStats();
  EXPECT_EQ(restored.blocked_partitions, 0u);
  EXPECT_GE(restored.restores_from_snapshot, 1u);
  EXPECT_LT(restored.restored_records, 200u) << "the restore read more than a snapshot's tail";

  // A re-sent input; another node's copy of an issued request (new
  // position, same request id); 10 holders asking again with new request
  // ids (LIMIT_REACHED); 10 new users (SOLD_OUT).
  std::map<std::string, std::string> decided = Decisions();
  std::vector<int> holders;
  for (const auto& [request, outcome] : decided) {
    if (outcome != "rejected") holders.push_back(std::stoi(request.substr(1)));
  }
  ASSERT_EQ(holders.size(), static_cast<size_t>(kQuantity));
  input.Send(Request(3, kPad), 5, 0);
  std::vector<v1::Event> more;
  more.push_back(Request(holders[0], kPad));
  for (int i = 0; i < 10; ++i) {
    v1::Event again = Request(holders[static_cast<size_t>(i)], kPad);
    again.mutable_coupon_requested()->set_request_id(absl::StrCat("again", i));
    more.push_back(again);
  }
  for (int u = 0; u < 10; ++u) more.push_back(Request(kRequests + u, kPad));
  input.SendMany(more, kRequests + 2);
  ASSERT_TRUE(Await([&] { return b->GetStats().applied == more.size(); }))
      << "b decided " << b->GetStats().applied << " of " << more.size();
  EXPECT_EQ(b->GetStats().duplicates, 1u);

  std::map<std::string, std::string> event_ids;
  decided = Decisions(&event_ids);
  EXPECT_EQ(decided.size(), static_cast<size_t>(kRequests + 20));
  std::set<std::string> coupons;
  for (const auto& [request, outcome] : decided) {
    if (outcome != "rejected") {
      EXPECT_TRUE(coupons.insert(outcome).second) << outcome << " issued twice";
    }
  }
  EXPECT_EQ(coupons.size(), static_cast<size_t>(kQuantity));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(decided[absl::StrCat("again", i)], "rejected") << "a holder got a second coupon";
  }
}

}  // namespace
}  // namespace surge::cluster
