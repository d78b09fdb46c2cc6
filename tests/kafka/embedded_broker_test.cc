#include "kafka/embedded_broker.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
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

// The mock brokers' connections run without Nagle's algorithm, as a Kafka
// broker's do (kafka/embedded_broker.cc says why: 44 ms per multi-partition
// flush otherwise). Every server-side socket of the broker's port in this
// process, once a producer has written through it, has TCP_NODELAY.
TEST(EmbeddedBrokerTest, BrokerConnectionsRunWithoutNagle) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status();
  const std::string bootstrap = (*broker)->bootstrap_servers();
  std::set<int> ports;  // every mock broker's listener
  for (absl::string_view entry : absl::StrSplit(bootstrap, ',')) {
    int port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(entry.substr(entry.rfind(':') + 1), &port)) << bootstrap;
    ports.insert(port);
  }
  auto conf = internal::MakeConf({{"bootstrap.servers", bootstrap}, {"acks", "all"}});
  ASSERT_TRUE(conf.ok());
  auto producer = internal::NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_EQ(rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(kStockTopic),
                              RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE(const_cast<char*>("x"), 1),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_flush(producer->get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

  int accepted = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    if (local.ss_family != AF_INET) continue;
    if (ports.count(ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port)) == 0) continue;
    int listening = 0;
    socklen_t opt_len = sizeof(listening);
    ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &opt_len), 0);
    if (listening) continue;  // the listener itself
    int nodelay = 0;
    opt_len = sizeof(nodelay);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &opt_len), 0);
    EXPECT_NE(nodelay, 0) << "fd " << fd << ": a mock broker connection with Nagle on";
    ++accepted;
  }
  EXPECT_GE(accepted, 1) << "found no connection accepted by the brokers of " << bootstrap;
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
