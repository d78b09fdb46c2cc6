// CheckTopics against the embedded broker (librdkafka's mock cluster): it
// answers metadata, so missing topics and other partition counts are
// refused; it names no controller and answers no DescribeConfigs, so the
// cleanup policy is reported unchecked and the check passes at once.
#include "kafka/topic_check.h"

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kafka/embedded_broker.h"

namespace surge::kafka {
namespace {

std::unique_ptr<EmbeddedBroker> StartBroker() {
  EmbeddedBroker::Options options;
  options.brokers = 1;
  options.partitions = 3;
  options.replication_factor = 1;
  options.topics = {"surge.orders", "surge.cluster"};
  auto broker = EmbeddedBroker::Start(options);
  EXPECT_TRUE(broker.ok()) << broker.status();
  return broker.ok() ? *std::move(broker) : nullptr;
}

TEST(TopicCheckTest, AcceptsTopicsWithTheirCountsWithoutWaitingForDescribeConfigs) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  const absl::Time start = absl::Now();
  absl::Status status = CheckTopics(
      {.bootstrap_servers = broker->bootstrap_servers(), .client_config = {{"client.rack", "r1"}}},
      {{"surge.orders", 3}});
  EXPECT_TRUE(status.ok()) << status;
  // Not the DescribeConfigs timeout (5 s): the missing controller is seen
  // in the metadata.
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

TEST(TopicCheckTest, RefusesAMissingTopicOrAnotherPartitionCountNamingIt) {
  auto broker = StartBroker();
  ASSERT_NE(broker, nullptr);
  absl::Status status =
      CheckTopics({.bootstrap_servers = broker->bootstrap_servers()}, {{"surge.orders", 6}});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(),
                                "surge.orders has 3 partitions but --kafka_partitions is 6"))
      << status;
  status = CheckTopics({.bootstrap_servers = broker->bootstrap_servers()},
                       {{"surge.orders", 3}, {"surge.stock.changelog", 3}});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(status.message(), "surge.stock.changelog does not exist"))
      << status;
  status = CheckTopics({.bootstrap_servers = broker->bootstrap_servers()}, {{"surge.cluster", 1}});
  EXPECT_TRUE(absl::StrContains(status.message(), "surge.cluster has 3 partitions but must have 1"))
      << status;
}

TEST(TopicCheckTest, BadClientSettingIsRefused) {
  absl::Status status = CheckTopics(
      {.bootstrap_servers = "127.0.0.1:1", .client_config = {{"no.such.key", "1"}}}, {});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

}  // namespace
}  // namespace surge::kafka
