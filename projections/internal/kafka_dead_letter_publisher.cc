#include "projections/internal/kafka_dead_letter_publisher.h"

#include <librdkafka/rdkafka.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/topics.h"
#include "projections/dead_letter_envelope.h"

namespace surge::projections::internal {
namespace {

// Filled by the delivery report callback (on the Publish thread, inside
// rd_kafka_poll), read after it.
struct Delivery {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* delivery = static_cast<Delivery*>(msg->_private);
  if (delivery == nullptr) return;
  delivery->err = msg->err;
  delivery->partition = msg->partition;
  delivery->offset = msg->offset;
  delivery->done = true;
}

void AddHeader(rd_kafka_headers_t* headers, const char* name, absl::string_view value) {
  rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaDeadLetterPublisher>> KafkaDeadLetterPublisher::Create(
    const std::string& bootstrap_servers, const std::map<std::string, std::string>& overrides,
    absl::Duration timeout) {
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", bootstrap_servers},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "0"},
      // Same placement as the Java client: a key's dead letters stay together.
      {"partitioner", "murmur2_random"},
      {"message.timeout.ms", absl::StrCat(absl::ToInt64Milliseconds(timeout))},
  };
  for (const auto& [k, v] : overrides) settings[k] = v;
  // Bad settings fail here, not at the first dead letter.
  SURGE_RETURN_IF_ERROR(kafka::internal::MakeConf(settings).status());
  return std::unique_ptr<KafkaDeadLetterPublisher>(
      new KafkaDeadLetterPublisher(std::move(settings)));
}

KafkaDeadLetterPublisher::~KafkaDeadLetterPublisher() {
  if (producer_ != nullptr) rd_kafka_flush(producer_.get(), 2000);
}

absl::StatusOr<DeadLetterCoordinates> KafkaDeadLetterPublisher::Publish(
    const ConsumedMessage& message, const DeliveryFailure& failure) {
  if (producer_ == nullptr) {
    SURGE_ASSIGN_OR_RETURN(kafka::internal::ConfHandle conf, kafka::internal::MakeConf(settings_));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &OnDelivery);
    SURGE_ASSIGN_OR_RETURN(producer_,
                           kafka::internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  }
  const std::string topic = kafka::DeadLetterTopic(message.topic);
  const std::string value = DeadLetterEnvelopeJson(message, failure);
  kafka::internal::HeadersHandle headers(rd_kafka_headers_new(8));
  AddHeader(headers.get(), kDltOriginalTopicHeader, message.topic);
  AddHeader(headers.get(), kDltOriginalPartitionHeader, absl::StrCat(message.partition));
  AddHeader(headers.get(), kDltOriginalOffsetHeader, absl::StrCat(message.offset));
  AddHeader(headers.get(), kDltOriginalKeyHeader, message.key);
  AddHeader(headers.get(), kDltErrorHeader, failure.error);
  AddHeader(headers.get(), kDltAttemptsHeader, absl::StrCat(failure.attempts));
  AddHeader(headers.get(), kDltFirstFailureHeader, absl::StrCat(failure.first_failure_unix_ms));

  Delivery delivery;
  rd_kafka_resp_err_t err =
      rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                        RD_KAFKA_V_KEY(const_cast<char*>(message.key.data()), message.key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers.get()),
                        RD_KAFKA_V_OPAQUE(&delivery), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::internal::KafkaStatus(err, absl::StrCat("produce to ", topic));
  }
  headers.release();  // librdkafka owns them now
  // Every produced message gets exactly one report, at the latest after
  // message.timeout.ms, so `delivery` cannot be written after we return.
  while (!delivery.done) rd_kafka_poll(producer_.get(), 50);
  if (delivery.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::internal::KafkaStatus(delivery.err, absl::StrCat("deliver to ", topic));
  }
  return DeadLetterCoordinates{topic, delivery.partition, delivery.offset};
}

}  // namespace surge::projections::internal
