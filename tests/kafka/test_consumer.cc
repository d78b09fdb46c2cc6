#include "tests/kafka/test_consumer.h"

#include <librdkafka/rdkafka.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"

namespace surge::kafka::testing {

uint64_t ConsumedMessage::NumberHeader(const std::string& name) const {
  auto it = headers.find(name);
  uint64_t value = 0;
  if (it == headers.end() || !absl::SimpleAtoi(it->second, &value)) return 0;
  return value;
}

struct TestConsumer::Impl {
  internal::ClientHandle rk;
};

TestConsumer::TestConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TestConsumer::~TestConsumer() {
  if (impl_->rk != nullptr) rd_kafka_consumer_close(impl_->rk.get());
}

absl::StatusOr<std::unique_ptr<TestConsumer>> TestConsumer::Create(
    const std::string& bootstrap, const std::vector<std::string>& topics, int partitions) {
  static int counter = 0;
  absl::StatusOr<internal::ConfHandle> conf =
      internal::MakeConf({{"bootstrap.servers", bootstrap},
                          {"group.id", absl::StrCat("surge-test-", ++counter)},
                          {"enable.auto.commit", "false"},
                          {"enable.partition.eof", "false"},
                          {"fetch.wait.max.ms", "10"},
                          {"log_level", "3"}});
  if (!conf.ok()) return conf.status();
  absl::StatusOr<internal::ClientHandle> rk =
      internal::NewClient(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  internal::TopicPartitionListHandle list(
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()) * partitions));
  for (const std::string& topic : topics) {
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  absl::Status status = internal::KafkaStatus(rd_kafka_assign(rk->get(), list.get()), "assign");
  if (!status.ok()) return status;
  auto impl = std::make_unique<Impl>();
  impl->rk = std::move(*rk);
  return std::unique_ptr<TestConsumer>(new TestConsumer(std::move(impl)));
}

bool TestConsumer::ConsumeUntil(
    const std::function<bool(const std::vector<ConsumedMessage>&)>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done(messages_)) {
    if (absl::Now() >= deadline) return false;
    internal::MessageHandle msg(rd_kafka_consumer_poll(impl_->rk.get(), 20));
    if (msg == nullptr || msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    ConsumedMessage m;
    m.topic = rd_kafka_topic_name(msg->rkt);
    m.partition = msg->partition;
    m.offset = msg->offset;
    if (msg->key != nullptr) m.key.assign(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload != nullptr) {
      m.value.assign(static_cast<const char*>(msg->payload), msg->len);
    }
    rd_kafka_headers_t* headers = nullptr;  // owned by the message
    if (rd_kafka_message_headers(msg.get(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        m.headers[name] = std::string(static_cast<const char*>(value), size);
      }
    }
    messages_.push_back(std::move(m));
  }
  return true;
}

}  // namespace surge::kafka::testing
