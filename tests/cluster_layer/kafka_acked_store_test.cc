#include "server/internal/kafka_acked_store.h"

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "projections/read_models.h"
#include "tests/domain/test_store.h"
#include "tests/support/temp_dir.h"

namespace surge::server::internal {
namespace {

eventstore::AppendRequest OneEvent(const std::string& key) {
  eventstore::AppendRequest request;
  v1::Event event;
  event.set_stream_id("stock-" + key);
  event.mutable_stock_adjusted()->set_sku(key);
  event.mutable_stock_adjusted()->set_delta(1);
  request.events.push_back(event);
  request.idempotency_key = "stock:" + key;
  return request;
}

class KafkaAckedStoreTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::unique_ptr<eventstore::EventStore> store_ = domain::OpenTestStore(dir_);
};

TEST_F(KafkaAckedStoreTest, AnswersOnlyOnceKafkaHasTheEvents) {
  KafkaAckedStore acked(*store_, {.timeout = absl::Seconds(30)});
  absl::Notification answered;
  absl::StatusOr<eventstore::AppendResult> answer;
  acked.AppendAsync(OneEvent("a"), [&](absl::StatusOr<eventstore::AppendResult> r) {
    answer = std::move(r);
    answered.Notify();
  });
  // Durable in the log, but not answered: the relay has not delivered it.
  ASSERT_TRUE(store_->WaitForHead(1, absl::Now() + absl::Seconds(10)));
  EXPECT_FALSE(answered.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
  EXPECT_EQ(acked.waiting(), 1u);
  acked.OnDelivered(1);
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->last_position, 1u);
}

TEST_F(KafkaAckedStoreTest, ARepeatOfADeliveredCommandIsAnsweredAtOnce) {
  KafkaAckedStore acked(*store_, {.timeout = absl::Seconds(30)});
  acked.OnDelivered(100);
  absl::StatusOr<eventstore::AppendResult> first = acked.Append(OneEvent("a"));
  ASSERT_TRUE(first.ok());
  absl::StatusOr<eventstore::AppendResult> repeat = acked.Append(OneEvent("a"));
  ASSERT_TRUE(repeat.ok());
  EXPECT_TRUE(repeat->duplicate);
}

TEST_F(KafkaAckedStoreTest, TimesOutWithUnavailable) {
  KafkaAckedStore acked(*store_, {.timeout = absl::Milliseconds(100)});
  absl::StatusOr<eventstore::AppendResult> answer = acked.Append(OneEvent("a"));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(answer.status().message().find("same request_id"), std::string::npos);
  // The command itself is in the log: a retry answers its first result.
  EXPECT_EQ(store_->HeadPosition(), 1u);
}

TEST_F(KafkaAckedStoreTest, RefusedAppendsAreAnsweredAtOnce) {
  KafkaAckedStore acked(*store_, {.timeout = absl::Seconds(30)});
  eventstore::AppendRequest bad = OneEvent("a");
  bad.expected_versions["stock-a"] = 5;  // wrong version
  EXPECT_EQ(acked.Append(std::move(bad)).status().code(), absl::StatusCode::kAborted);
}

}  // namespace
}  // namespace surge::server::internal
