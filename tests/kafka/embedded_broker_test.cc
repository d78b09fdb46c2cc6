#include "kafka/embedded_broker.h"

#include <librdkafka/rdkafka.h>

#include "gtest/gtest.h"
#include "kafka/internal/config.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"
#include "tests/kafka/test_consumer.h"

namespace surge::kafka {
namespace {

std::map<std::string, int> ListTopics(const std::string& bootstrap) {
  auto conf = internal::MakeConf({{"bootstrap.servers", bootstrap}, {"log_level", "3"}});
  EXPECT_TRUE(conf.ok());
  auto rk = internal::NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  EXPECT_TRUE(rk.ok());
  const rd_kafka_metadata_t* metadata = nullptr;
  std::map<std::string, int> topics;
  if (rd_kafka_metadata(rk->get(), 1, nullptr, &metadata, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return topics;
  }
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    topics[metadata->topics[i].topic] = metadata->topics[i].partition_cnt;
  }
  rd_kafka_metadata_destroy(metadata);
  return topics;
}

TEST(EmbeddedBrokerTest, CreatesEventTopicsAndDeadLetterTwins) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  EXPECT_FALSE((*broker)->bootstrap_servers().empty());
  const std::map<std::string, int> topics = ListTopics((*broker)->bootstrap_servers());
  for (const std::string& topic : EventTopics()) {
    EXPECT_EQ(topics.count(topic), 1u) << topic;
    EXPECT_EQ(topics.count(DeadLetterTopic(topic)), 1u) << topic;
    if (topics.count(topic)) EXPECT_EQ(topics.at(topic), 6);
  }
}

TEST(EmbeddedBrokerTest, RejectsBadOptions) {
  EmbeddedBroker::Options options;
  options.brokers = 1;
  options.replication_factor = 3;
  EXPECT_EQ(EmbeddedBroker::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = {};
  options.partitions = 0;
  EXPECT_EQ(EmbeddedBroker::Start(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EmbeddedBrokerTest, ProducedMessageCanBeConsumedBack) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  const std::string bootstrap = (*broker)->bootstrap_servers();
  auto conf = internal::MakeConf({{"bootstrap.servers", bootstrap}, {"acks", "all"}});
  ASSERT_TRUE(conf.ok());
  auto producer = internal::NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(producer.ok()) << producer.status();
  const std::string key = "sku-1";
  const std::string value = "hello";
  ASSERT_EQ(rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(kStockTopic),
                              RD_KAFKA_V_PARTITION(2), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_HEADER("h", "v", 1), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_flush(producer->get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

  auto consumer = testing::TestConsumer::Create(bootstrap, {kStockTopic}, 6);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(
      (*consumer)->ConsumeUntil([](const auto& m) { return !m.empty(); }, absl::Seconds(15)))
      << "no message consumed";
  const testing::ConsumedMessage& m = (*consumer)->messages().front();
  EXPECT_EQ(m.topic, kStockTopic);
  EXPECT_EQ(m.partition, 2);
  EXPECT_EQ(m.key, key);
  EXPECT_EQ(m.value, value);
  EXPECT_EQ(m.headers.at("h"), "v");
}

TEST(EmbeddedBrokerTest, FaultControlsValidateBrokerIds) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  EXPECT_TRUE((*broker)->SetBrokerDown(2).ok());
  EXPECT_TRUE((*broker)->SetBrokerUp(2).ok());
  EXPECT_TRUE((*broker)->SetPartitionLeader(kOrdersTopic, 0, 1).ok());
  EXPECT_FALSE((*broker)->SetBrokerDown(42).ok());
  EXPECT_TRUE((*broker)->CreateTopic("extra", 2).ok());
}

}  // namespace
}  // namespace surge::kafka
