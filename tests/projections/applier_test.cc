#include "projections/applier.h"

#include <set>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "projections/coupon_projection.h"
#include "projections/internal/big_endian.h"
#include "tests/projections/store_fixture.h"

namespace surge::projections {
namespace {

using testing::TempStore;

constexpr char kTopic[] = "surge.coupons";

// Records what was dead-lettered; can refuse the first publications.
class FakePublisher : public DeadLetterPublisher {
 public:
  absl::StatusOr<DeadLetterCoordinates> Publish(const ConsumedMessage& message,
                                                const DeliveryFailure& failure) override {
    absl::MutexLock lock(&mu_);
    if (refusals_ > 0) {
      --refusals_;
      return absl::UnavailableError("broker down");
    }
    published_.push_back({message, failure});
    return DeadLetterCoordinates{std::string(kTopic) + ".dlt", message.partition,
                                 static_cast<int64_t>(published_.size() - 1)};
  }
  void Refuse(int n) {
    absl::MutexLock lock(&mu_);
    refusals_ = n;
  }
  std::vector<std::pair<ConsumedMessage, DeliveryFailure>> published() {
    absl::MutexLock lock(&mu_);
    return published_;
  }

 private:
  absl::Mutex mu_;
  int refusals_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<ConsumedMessage, DeliveryFailure>> published_ ABSL_GUARDED_BY(mu_);
};

// The coupon projection, except that requests in `broken` fail (UNAVAILABLE)
// until fixed; counts handling attempts per request id.
class FlakyCoupons : public Projection {
 public:
  std::string name() const override { return "coupons"; }
  absl::StatusOr<std::vector<v1::Event>> Handle(ProjectionState& state,
                                                const v1::Event& event) override {
    const std::string& id = event.coupon_requested().request_id();
    ++attempts[id];
    if (broken.count(id)) return absl::UnavailableError("simulated outage for " + id);
    return real.Handle(state, event);
  }
  CouponProjection real;
  std::set<std::string> broken;
  std::map<std::string, int> attempts;
};

ConsumedMessage Message(const v1::Event& event, int32_t partition, uint64_t prev) {
  ConsumedMessage m;
  m.topic = kTopic;
  m.partition = partition;
  m.offset = static_cast<int64_t>(event.position());
  m.key = "C";
  m.value = event.SerializeAsString();
  m.position = event.position();
  m.prev_position = prev;
  return m;
}

v1::Event CampaignEvent(uint64_t position, int64_t total) {
  v1::Event e;
  e.set_position(position);
  e.set_event_id("node-1:" + std::to_string(position));
  e.set_stream_id("campaign-C");
  e.mutable_campaign_created()->set_code("C");
  e.mutable_campaign_created()->set_total_quantity(total);
  return e;
}

v1::Event RequestEvent(uint64_t position, const std::string& request_id, const std::string& user) {
  v1::Event e;
  e.set_position(position);
  e.set_event_id("node-1:" + std::to_string(position));
  e.set_stream_id("campaign-C");
  e.mutable_coupon_requested()->set_request_id(request_id);
  e.mutable_coupon_requested()->set_user_id(user);
  e.mutable_coupon_requested()->set_code("C");
  return e;
}

v1::Campaign CampaignRow(eventstore::EventStore& store) {
  auto bytes = store.Get(kCampaignsCf, "C");
  v1::Campaign c;
  if (bytes.ok() && bytes->has_value()) c.ParseFromString(**bytes);
  return c;
}

uint64_t Checkpoint(eventstore::EventStore& store, int32_t partition) {
  auto bytes =
      store.Get(eventstore::kCheckpointsCf, AppliedPositionKey("coupons", kTopic, partition));
  if (!bytes.ok() || !bytes->has_value()) return 0;
  return internal::DecodeU64(**bytes).value_or(0);
}

ProjectionApplier::Options FastOptions() {
  ProjectionApplier::Options options;
  options.topic = kTopic;
  options.retry_attempts = 3;
  options.backoff_min = absl::Milliseconds(1);
  options.backoff_max = absl::Milliseconds(4);
  return options;
}

TEST(ProjectionApplierTest, AppliesBatchInOneAppendAndSkipsDuplicates) {
  TempStore store;
  CouponProjection coupons;
  FakePublisher publisher;
  ProjectionApplier applier(FastOptions(), coupons, *store, &publisher, nullptr);
  std::vector<ConsumedMessage> batch = {Message(CampaignEvent(1, 5), 0, 0),
                                        Message(RequestEvent(2, "r1", "u1"), 0, 1),
                                        Message(RequestEvent(3, "r2", "u2"), 0, 2)};
  auto result = applier.ApplyBatch(batch);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->applied, 3u);
  EXPECT_EQ(result->appends, 1u);
  EXPECT_EQ(CampaignRow(*store).issued(), 2);
  EXPECT_EQ(Checkpoint(*store, 0), 3u);
  const uint64_t head = store->HeadPosition();
  EXPECT_EQ(head, 2u);  // the two CouponIssued decisions

  // The relay re-sends everything (after a rewind prev restarts at 0).
  batch[0].prev_position = 0;
  result = applier.ApplyBatch(batch);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->duplicates, 3u);
  EXPECT_EQ(result->appends, 0u);
  EXPECT_EQ(CampaignRow(*store).issued(), 2);
  EXPECT_EQ(store->HeadPosition(), head);
}

TEST(ProjectionApplierTest, ReportsTheAgeOfEachNewEventSinceItsCommit) {
  TempStore store;
  CouponProjection coupons;
  FakePublisher publisher;
  ProjectionApplier applier(FastOptions(), coupons, *store, &publisher, nullptr);
  auto recorded = [](v1::Event e, absl::Time at) {
    const int64_t nanos = absl::ToUnixNanos(at);
    e.mutable_recorded_at()->set_seconds(nanos / 1000000000);
    e.mutable_recorded_at()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    return e;
  };
  const absl::Time now = absl::Now();
  std::vector<ConsumedMessage> batch = {
      Message(recorded(CampaignEvent(1, 5), now - absl::Seconds(30)), 0, 0),
      Message(recorded(RequestEvent(2, "r1", "u1"), now - absl::Milliseconds(200)), 0, 1),
      Message(RequestEvent(3, "r2", "u2"), 0, 2)};  // no recorded_at: no age
  // The second was produced to Kafka 150 ms after its commit.
  batch[1].produced_at = now - absl::Milliseconds(50);
  const absl::Time before = absl::Now();
  auto result = applier.ApplyBatch(batch);
  const absl::Time after = absl::Now();
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->event_ages.size(), 2u);
  // Age = arrival at the applier - commit time, so within the call's bounds.
  EXPECT_GE(result->event_ages[0], before - (now - absl::Seconds(30)));
  EXPECT_LE(result->event_ages[0], after - (now - absl::Seconds(30)));
  EXPECT_GE(result->event_ages[1], before - (now - absl::Milliseconds(200)));
  EXPECT_LE(result->event_ages[1], after - (now - absl::Milliseconds(200)));
  // Only the message with a CreateTime is cut in two: commit → produced,
  // produced → applier; the parts add up to its age.
  ASSERT_EQ(result->relay_ages.size(), 1u);
  ASSERT_EQ(result->kafka_ages.size(), 1u);
  EXPECT_EQ(result->relay_ages[0], absl::Milliseconds(150));
  EXPECT_GE(result->kafka_ages[0], before - (now - absl::Milliseconds(50)));
  EXPECT_LE(result->kafka_ages[0], after - (now - absl::Milliseconds(50)));
  EXPECT_EQ(result->relay_ages[0] + result->kafka_ages[0], result->event_ages[1]);

  // Duplicates were delivered before: their age is not a delivery's.
  batch[0].prev_position = 0;
  result = applier.ApplyBatch(batch);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->duplicates, 3u);
  EXPECT_TRUE(result->event_ages.empty());
  EXPECT_TRUE(result->relay_ages.empty());

  // A CreateTime before the commit (another host's clock) counts as zero.
  ConsumedMessage skewed =
      Message(recorded(RequestEvent(4, "r3", "u3"), now - absl::Milliseconds(200)), 0, 3);
  skewed.produced_at = now - absl::Seconds(1);
  result = applier.ApplyBatch({skewed});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->relay_ages.size(), 1u);
  EXPECT_EQ(result->relay_ages[0], absl::ZeroDuration());
  EXPECT_EQ(result->kafka_ages[0], result->event_ages[0] + absl::Milliseconds(800));
}

TEST(ProjectionApplierTest, CheckpointSurvivesRestart) {
  TempStore store;
  CouponProjection coupons;
  FakePublisher publisher;
  {
    ProjectionApplier applier(FastOptions(), coupons, *store, &publisher, nullptr);
    ASSERT_TRUE(applier
                    .ApplyBatch({Message(CampaignEvent(1, 5), 2, 0),
                                 Message(RequestEvent(2, "r1", "u1"), 2, 1)})
                    .ok());
  }
  store.Reopen();
  ProjectionApplier applier(FastOptions(), coupons, *store, &publisher, nullptr);
  EXPECT_EQ(*applier.Applied(2), 2u);
  auto result = applier.ApplyBatch(
      {Message(RequestEvent(2, "r1", "u1"), 2, 0), Message(RequestEvent(3, "r2", "u1"), 2, 2)});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->duplicates, 1u);
  EXPECT_EQ(result->applied, 1u);
  EXPECT_EQ(CampaignRow(*store).issued(), 1);  // r2: same user, limit 1
}

TEST(ProjectionApplierTest, GapAsksForReplayOnceAndAppliesNothing) {
  TempStore store;
  CouponProjection coupons;
  FakePublisher publisher;
  std::vector<uint64_t> replays;
  ProjectionApplier applier(FastOptions(), coupons, *store, &publisher,
                            [&](uint64_t from) { replays.push_back(from); });
  ASSERT_TRUE(applier.ApplyBatch({Message(CampaignEvent(1, 5), 0, 0)}).ok());
  // Position 4 says the previous message on partition 0 was 3: 2..3 are lost.
  auto result = applier.ApplyBatch(
      {Message(RequestEvent(4, "r1", "u1"), 0, 3), Message(RequestEvent(5, "r2", "u2"), 0, 4)});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->gaps, 2u);
  EXPECT_EQ(result->applied, 0u);
  ASSERT_EQ(replays, std::vector<uint64_t>{2});
  EXPECT_EQ(CampaignRow(*store).issued(), 0);
  // Still the same gap: no second request within the interval.
  ASSERT_TRUE(applier.ApplyBatch({Message(RequestEvent(4, "r1", "u1"), 0, 3)}).ok());
  EXPECT_EQ(replays.size(), 1u);
  // The replay arrives (prev chain restarts at 0) and everything applies.
  result = applier.ApplyBatch({Message(RequestEvent(2, "x", "u9"), 0, 0),
                               Message(RequestEvent(4, "r1", "u1"), 0, 2),
                               Message(RequestEvent(5, "r2", "u2"), 0, 4)});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->applied, 3u);
  EXPECT_EQ(CampaignRow(*store).issued(), 3);
}

TEST(ProjectionApplierTest, UndecodableMessageIsDeadLetteredAndNeighboursApplied) {
  TempStore store;
  CouponProjection coupons;
  FakePublisher publisher;
  ProjectionApplier applier(FastOptions(), coupons, *store, &publisher, nullptr);
  ConsumedMessage poison;
  poison.topic = kTopic;
  poison.partition = 0;
  poison.offset = 7;
  poison.key = "C";
  poison.value = std::string("\xff\xff\x00garbage", 10);
  auto result = applier.ApplyBatch(
      {Message(CampaignEvent(1, 5), 0, 0), poison, Message(RequestEvent(2, "r1", "u1"), 0, 1)});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->applied, 2u);
  EXPECT_EQ(result->dead_lettered, 1u);
  auto published = publisher.published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first.value, poison.value);
  EXPECT_EQ(published[0].second.attempts, 1);
  EXPECT_NE(published[0].second.error.find("INVALID_ARGUMENT"), std::string::npos);
  auto row_bytes = store->Get(kDeadLettersCf, "surge.coupons.dlt/0/0");
  ASSERT_TRUE(row_bytes.ok() && row_bytes->has_value());
  v1::DeadLetter row;
  ASSERT_TRUE(row.ParseFromString(**row_bytes));
  EXPECT_EQ(row.value(), poison.value);
  EXPECT_EQ(row.original_offset(), 7);
  EXPECT_EQ(CampaignRow(*store).issued(), 1);
}

TEST(ProjectionApplierTest, FailingMessageIsRetriedAloneThenDeadLettered) {
  TempStore store;
  FlakyCoupons coupons;
  coupons.broken.insert("bad");
  FakePublisher publisher;
  publisher.Refuse(2);  // the DLT is briefly unavailable too
  ProjectionApplier applier(FastOptions(), coupons, *store, &publisher, nullptr);
  auto result = applier.ApplyBatch(
      {Message(CampaignEvent(1, 5), 1, 0), Message(RequestEvent(2, "good1", "u1"), 1, 1),
       Message(RequestEvent(3, "bad", "u2"), 1, 2), Message(RequestEvent(4, "good2", "u3"), 1, 3)});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->applied, 3u);
  EXPECT_EQ(result->dead_lettered, 1u);
  // One failed batch attempt, then one-by-one: the good ones were handled
  // twice in total (batch + single) but committed once; the bad one got
  // every retry.
  EXPECT_EQ(coupons.attempts["good1"], 2);
  EXPECT_EQ(coupons.attempts["bad"], 1 + 3);
  EXPECT_EQ(CampaignRow(*store).issued(), 2);
  EXPECT_EQ(Checkpoint(*store, 1), 4u);
  auto published = publisher.published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].second.attempts, 3);
  EXPECT_NE(published[0].second.error.find("simulated outage"), std::string::npos);
  EXPECT_GT(published[0].second.first_failure_unix_ms, 0);
}

TEST(ProjectionApplierTest, RefusedAppendsAreRetriedNeverDeadLettered) {
  TempStore real;
  testing::RefusingStore store(*real);
  CouponProjection coupons;
  FakePublisher publisher;
  ProjectionApplier::Options options = FastOptions();
  options.retry_attempts = 2;
  ProjectionApplier applier(options, coupons, store, &publisher, nullptr);
  // Far more refusals than retry_attempts: the batch append, then the
  // one-by-one appends keep failing for a while.
  store.RefuseAppends(6);
  auto result = applier.ApplyBatch(
      {Message(CampaignEvent(1, 5), 0, 0), Message(RequestEvent(2, "r1", "u1"), 0, 1)});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(store.refused(), 6);
  EXPECT_EQ(result->applied, 2u);
  EXPECT_EQ(result->dead_lettered, 0u);
  EXPECT_TRUE(publisher.published().empty());
  EXPECT_EQ(CampaignRow(*real).issued(), 1);
  EXPECT_EQ(Checkpoint(*real, 0), 2u);
}

TEST(ProjectionApplierTest, ReplayAfterFixAppliesExactlyOnce) {
  TempStore store;
  FlakyCoupons coupons;
  coupons.broken.insert("bad");
  FakePublisher publisher;
  ProjectionApplier applier(FastOptions(), coupons, *store, &publisher, nullptr);
  ASSERT_TRUE(applier
                  .ApplyBatch({Message(CampaignEvent(1, 5), 0, 0),
                               Message(RequestEvent(2, "bad", "u1"), 0, 1)})
                  .ok());
  const std::string id = "surge.coupons.dlt/0/0";
  // Still broken: the replay fails and changes nothing.
  auto replay = applier.ReplayDeadLetter(id);
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CampaignRow(*store).issued(), 0);
  coupons.broken.clear();
  replay = applier.ReplayDeadLetter(id);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->applied);
  EXPECT_EQ(CampaignRow(*store).issued(), 1);
  replay = applier.ReplayDeadLetter(id);
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(replay->applied);
  EXPECT_EQ(CampaignRow(*store).issued(), 1);
  // Redelivery of the original message is a duplicate, not a second issue.
  auto result = applier.ApplyBatch({Message(RequestEvent(2, "bad", "u1"), 0, 0)});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->duplicates, 1u);
  EXPECT_EQ(applier.ReplayDeadLetter("surge.coupons.dlt/0/9").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace surge::projections
