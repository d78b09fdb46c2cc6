#include "projections/internal/kafka_message.h"

#include <charconv>
#include <optional>

#include "kafka/topics.h"

namespace surge::projections::internal {
namespace {

std::optional<std::string> HeaderString(rd_kafka_headers_t* headers, const char* name) {
  if (headers == nullptr) return std::nullopt;
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return std::nullopt;
  }
  return std::string(static_cast<const char*>(value), size);
}

std::optional<uint64_t> HeaderNumber(rd_kafka_headers_t* headers, const char* name) {
  std::optional<std::string> text = HeaderString(headers, name);
  if (!text.has_value()) return std::nullopt;
  uint64_t number = 0;
  const char* begin = text->data();
  auto [end, ec] = std::from_chars(begin, begin + text->size(), number);
  if (ec != std::errc() || end != begin + text->size()) return std::nullopt;
  return number;
}

}  // namespace

ConsumedMessage ToConsumed(const rd_kafka_message_t* msg) {
  ConsumedMessage m;
  m.topic = rd_kafka_topic_name(msg->rkt);
  m.partition = msg->partition;
  m.offset = msg->offset;
  if (msg->key != nullptr) m.key.assign(static_cast<const char*>(msg->key), msg->key_len);
  if (msg->payload != nullptr) {
    m.value.assign(static_cast<const char*>(msg->payload), msg->len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    m.position = HeaderNumber(headers, kafka::kPositionHeader);
    m.prev_position = HeaderNumber(headers, kafka::kPrevPositionHeader);
    m.origin = HeaderString(headers, kafka::kOriginHeader).value_or("");
    m.replay_of = HeaderString(headers, kafka::kReplayOfHeader).value_or("");
  }
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  const int64_t timestamp_ms = rd_kafka_message_timestamp(msg, &type);
  if (type == RD_KAFKA_TIMESTAMP_CREATE_TIME && timestamp_ms >= 0) {
    m.produced_at = absl::FromUnixMillis(timestamp_ms);
  }
  return m;
}

}  // namespace surge::projections::internal
