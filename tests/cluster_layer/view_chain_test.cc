// The view (cluster/view.h) on the embedded broker, fed changelog records as
// two writers of one partition leave them: the member thrown out of the
// group finishing its batch, and the new owner deciding from the same base
// with a longer batch, then going on. The view must follow the owner (issue
// 24: with an exact-base chain rule it ignored the owner's records from then
// on, and the partition's decisions never reached a read model again).
#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cluster/cluster.pb.h"
#include "cluster/partition_state.h"
#include "cluster/view.h"
#include "gtest/gtest.h"
#include "kafka/embedded_broker.h"
#include "kafka/internal/config.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"
#include "projections/read_models.h"
#include "tests/domain/test_store.h"
#include "tests/support/temp_dir.h"

namespace surge::cluster {
namespace {

constexpr absl::Duration kWait = absl::Seconds(60);

ChangelogBatch Record(const std::string& node, int64_t epoch, int64_t base, int64_t next,
                      const std::string& campaign_row, const std::string& origin, uint64_t mark) {
  ChangelogBatch record;
  record.set_node_id(node);
  record.set_epoch(epoch);
  record.set_base_offset(base);
  record.set_next_offset(next);
  StateWrite* row = record.add_writes();
  row->set_cf(projections::kCampaignsCf);
  row->set_key("C");
  row->set_value(campaign_row);
  StateWrite* marks = record.add_writes();
  marks->set_cf(kMarksCf);
  marks->set_key(origin);
  marks->set_value(EncodeMark(mark));
  return record;
}

class ViewChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kafka::EmbeddedBroker::Options options;
    options.brokers = 1;
    options.partitions = 1;
    options.replication_factor = 1;
    auto broker = kafka::EmbeddedBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    ASSERT_TRUE(broker_->CreateTopic(kafka::ChangelogTopic(kafka::kCouponsTopic), 1).ok());
    auto conf = kafka::internal::MakeConf(
        {{"bootstrap.servers", broker_->bootstrap_servers()}, {"acks", "all"}});
    ASSERT_TRUE(conf.ok()) << conf.status();
    auto producer = kafka::internal::NewClient(RD_KAFKA_PRODUCER, *std::move(conf));
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
  }

  void Write(const ChangelogBatch& record) {
    const std::string topic = kafka::ChangelogTopic(kafka::kCouponsTopic);
    const std::string value = record.SerializeAsString();
    ASSERT_EQ(rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer_.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  std::unique_ptr<View> StartView(eventstore::EventStore& store) {
    View::Options options;
    options.bootstrap_servers = broker_->bootstrap_servers();
    options.node_id = "n3";
    options.origin = kOrigin;
    options.deciders = {{"coupons", kafka::kCouponsTopic}};
    options.partitions = 1;
    auto view = View::Create(options, store);
    EXPECT_TRUE(view.ok()) << view.status();
    if (!view.ok()) return nullptr;
    EXPECT_TRUE((*view)->Start().ok());
    return *std::move(view);
  }

  static bool Await(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + kWait;
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(20));  // polling a condition, bounded
    }
    return done();
  }

  static constexpr char kOrigin[] = "n3~0000000000000003";
  std::unique_ptr<kafka::EmbeddedBroker> broker_;
  kafka::internal::ClientHandle producer_;
  testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_ = domain::OpenTestStore(dir_);
};

TEST_F(ViewChainTest, FollowsTheOwnerWhenAnEvictedMembersShorterBatchCameFirst) {
  Write(Record("n1", 1, 0, 150, "issued=40", kOrigin, 300));
  Write(Record("n1", 1, 150, 170, "issued=45", kOrigin, 340));  // n1, thrown out, finishing
  Write(Record("n2", 2, 150, 200, "issued=52", kOrigin, 400));  // n2, restored at 150
  Write(Record("n2", 2, 200, 250, "issued=60", kOrigin, 500));
  Write(Record("n1", 1, 170, 190, "issued=48", kOrigin, 380));  // n1's late next batch
  std::unique_ptr<View> view = StartView(*store_);
  ASSERT_NE(view, nullptr);
  const bool seen = Await([&] {
    auto stats = view->GetStats();
    return stats.size() == 1 && stats[0].records + stats[0].ignored == 5;
  });
  ASSERT_TRUE(seen) << "the view did not consume the 5 records";
  const View::DeciderStats stats = view->GetStats()[0];
  EXPECT_EQ(stats.records, 4u) << "applied: 0->150, 150->170, 150->200, 200->250";
  EXPECT_EQ(stats.ignored, 1u) << "n1's 170->190 adds nothing past 250";
  auto row = store_->Get(projections::kCampaignsCf, "C");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->value_or(""), "issued=60");
  // The relay's applied checkpoint follows the owner's marks too.
  auto applied = store_->Get(eventstore::kCheckpointsCf,
                             projections::AppliedPositionKey("coupons", kafka::kCouponsTopic, 0));
  ASSERT_TRUE(applied.ok() && applied->has_value());
  EXPECT_EQ(DecodeMark(*applied), 500u);
}

// Chunks of a snapshot of a state whose campaign row is `campaign_row` at
// input offset `at`, as a decider writes them (two chunks).
std::vector<ChangelogBatch> SnapshotOf(const std::string& node, int64_t epoch, int64_t at,
                                       const std::string& campaign_row, uint64_t mark) {
  PartitionState state;
  ChangelogBatch rows = Record(node, epoch, 0, at, campaign_row, "n3~0000000000000003", mark);
  StateWrite* big = rows.add_writes();
  big->set_cf(projections::kCouponHoldingsCf);
  big->set_key("u1");
  big->set_value(std::string(3000, 'h'));
  EXPECT_TRUE(state.Apply(rows));
  std::vector<ChangelogBatch> chunks =
      state.Snapshot(absl::StrCat(node, "/", epoch, "/", at, "/1"), epoch, node, 1024);
  EXPECT_EQ(chunks.size(), 2u);
  return chunks;
}

// A view that starts where retention left the changelog (a node that joined
// late, or lost its disk) cannot follow records whose base it never saw; a
// complete snapshot brings it to the snapshot's offset and the chain goes
// on from there. Its warm standby is the same state.
TEST_F(ViewChainTest, AViewWhoseChainBrokeResumesFromASnapshot) {
  Write(Record("n1", 1, 100, 150, "issued=30", kOrigin, 200));  // 0->100 was deleted
  for (const ChangelogBatch& chunk : SnapshotOf("n1", 1, 150, "issued=30", 200)) Write(chunk);
  Write(Record("n1", 1, 150, 200, "issued=35", kOrigin, 260));
  std::unique_ptr<View> view = StartView(*store_);
  ASSERT_NE(view, nullptr);
  ASSERT_TRUE(Await([&] {
    auto stats = view->GetStats();
    return stats.size() == 1 && stats[0].lag_messages == 0 && stats[0].records >= 2;
  })) << "the view did not follow the snapshot";
  auto row = store_->Get(projections::kCampaignsCf, "C");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->value_or(""), "issued=35");
  auto applied = store_->Get(eventstore::kCheckpointsCf,
                             projections::AppliedPositionKey("coupons", kafka::kCouponsTopic, 0));
  ASSERT_TRUE(applied.ok() && applied->has_value());
  EXPECT_EQ(DecodeMark(*applied), 260u);

  const std::optional<WarmState> warm =
      view->Warm(kafka::ChangelogTopic(kafka::kCouponsTopic), 0);
  ASSERT_TRUE(warm.has_value());
  EXPECT_EQ(warm->state.next_offset(), 200);
  EXPECT_EQ(warm->changelog_next, 4);
  EXPECT_EQ(warm->snapshot_at, 1) << "the snapshot's first chunk";
  EXPECT_EQ(warm->state.Get(projections::kCouponHoldingsCf, "u1"), std::string(3000, 'h'));
}

// A view that fell behind retention (its chain broke) keeps stale rows until
// the next snapshot, but the records past the break still move the relay's
// applied checkpoint: the decider decided this node's events up to their
// marks. Otherwise the node's decided watermark, and admission with it,
// waited for a snapshot that only new commands would bring.
TEST_F(ViewChainTest, MarksPastABreakInTheChainStillMoveTheAppliedCheckpoint) {
  Write(Record("n1", 1, 100, 150, "issued=30", kOrigin, 200));  // 0->100 was deleted
  Write(Record("n1", 1, 150, 200, "issued=35", kOrigin, 260));
  Write(Record("n1", 1, 120, 130, "issued=31", kOrigin, 210));  // a zombie's, behind
  std::unique_ptr<View> view = StartView(*store_);
  ASSERT_NE(view, nullptr);
  ASSERT_TRUE(Await([&] {
    auto stats = view->GetStats();
    return stats.size() == 1 && stats[0].ignored == 3;
  })) << "the view did not consume the 3 records";
  auto applied = store_->Get(eventstore::kCheckpointsCf,
                             projections::AppliedPositionKey("coupons", kafka::kCouponsTopic, 0));
  ASSERT_TRUE(applied.ok() && applied->has_value()) << "no applied checkpoint past the break";
  EXPECT_EQ(DecodeMark(*applied), 260u) << "the highest mark, whatever the order";
  auto row = store_->Get(projections::kCampaignsCf, "C");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_FALSE(row->has_value()) << "rows past a break wait for a snapshot";
}

// A zombie's snapshot of a state the chain has gone past changes neither
// the rows nor the standby, nor becomes the pointer a new owner would write.
TEST_F(ViewChainTest, AZombiesLateSnapshotChangesNothing) {
  Write(Record("n1", 1, 0, 150, "issued=40", kOrigin, 300));
  Write(Record("n2", 2, 150, 200, "issued=52", kOrigin, 400));
  for (const ChangelogBatch& chunk : SnapshotOf("n1", 1, 150, "issued=40", 300)) Write(chunk);
  std::unique_ptr<View> view = StartView(*store_);
  ASSERT_NE(view, nullptr);
  ASSERT_TRUE(Await([&] {
    auto stats = view->GetStats();
    return stats.size() == 1 && stats[0].lag_messages == 0 && stats[0].records >= 2;
  })) << "the view did not consume the records";
  auto row = store_->Get(projections::kCampaignsCf, "C");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->value_or(""), "issued=52");
  const std::optional<WarmState> warm =
      view->Warm(kafka::ChangelogTopic(kafka::kCouponsTopic), 0);
  ASSERT_TRUE(warm.has_value());
  EXPECT_EQ(warm->state.next_offset(), 200);
  EXPECT_EQ(warm->state.Get(projections::kCampaignsCf, "C"), "issued=52");
  EXPECT_EQ(warm->snapshot_at, -1);
  EXPECT_EQ(warm->state.Get(projections::kCouponHoldingsCf, "u1"), std::nullopt);
}

// A view restarted on its data dir has rows, not a state: its standby is
// not offered (a decider then restores from the changelog) until a snapshot
// on its chain arrives, and from then on it follows the records again.
TEST_F(ViewChainTest, ARestartedViewsStandbyWarmsUpAtTheNextSnapshot) {
  const std::string changelog = kafka::ChangelogTopic(kafka::kCouponsTopic);
  Write(Record("n1", 1, 0, 150, "issued=40", kOrigin, 300));
  {
    std::unique_ptr<View> view = StartView(*store_);
    ASSERT_NE(view, nullptr);
    ASSERT_TRUE(Await([&] {
      auto warm = view->Warm(changelog, 0);
      return warm.has_value() && warm->state.next_offset() == 150;
    })) << "the first view never had the state at 150";
  }
  Write(Record("n1", 1, 150, 200, "issued=45", kOrigin, 340));
  std::unique_ptr<View> view = StartView(*store_);
  ASSERT_NE(view, nullptr);
  ASSERT_TRUE(Await([&] {
    auto stats = view->GetStats();
    return stats.size() == 1 && stats[0].lag_messages == 0 && stats[0].records >= 1;
  })) << "the restarted view did not read the new record";
  EXPECT_FALSE(view->Warm(changelog, 0).has_value())
      << "a restarted view offered a state it never built";
  for (const ChangelogBatch& chunk : SnapshotOf("n1", 1, 200, "issued=45", 340)) Write(chunk);
  Write(Record("n1", 1, 200, 260, "issued=50", kOrigin, 400));
  ASSERT_TRUE(Await([&] {
    auto warm = view->Warm(changelog, 0);
    return warm.has_value() && warm->state.next_offset() == 260;
  })) << "the standby did not warm up at the snapshot";
  const std::optional<WarmState> warm = view->Warm(changelog, 0);
  EXPECT_EQ(warm->state.Get(projections::kCampaignsCf, "C"), "issued=50");
  EXPECT_EQ(warm->state.Get(projections::kCouponHoldingsCf, "u1"), std::string(3000, 'h'));
  EXPECT_EQ(warm->snapshot_at, 2);
  EXPECT_EQ(warm->changelog_next, 5);
}

}  // namespace
}  // namespace surge::cluster
