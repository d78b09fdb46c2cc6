// RAII holders for librdkafka's C handles. Every rd_kafka_*_t that surge
// owns lives in one of these, so no path (early return, error) leaks one.
//
//   ConfHandle conf(rd_kafka_conf_new());
//   MessageHandle msg(rd_kafka_consumer_poll(rk.get(), 100));
//
// Private to the kafka module and its direct users (projections consumer):
// public headers must not include this (it pulls in librdkafka).
#ifndef SURGE_KAFKA_INTERNAL_HOLDERS_H_
#define SURGE_KAFKA_INTERNAL_HOLDERS_H_

#include <librdkafka/rdkafka.h>

#include <memory>

namespace surge::kafka::internal {

// Destroys a client. For a consumer this also leaves the group (librdkafka
// closes a consumer that was not closed); call rd_kafka_consumer_close()
// first to observe its result. Blocks until outstanding requests finish.
struct ClientDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct TopicPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* msg) const { rd_kafka_message_destroy(msg); }
};
// Only for headers surge owns: headers obtained from a message with
// rd_kafka_message_headers() belong to the message; headers handed to
// rd_kafka_producev(RD_KAFKA_V_HEADERS) belong to librdkafka on success
// (release() the holder then).
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};

using ClientHandle = std::unique_ptr<rd_kafka_t, ClientDeleter>;
using ConfHandle = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using TopicPartitionListHandle =
    std::unique_ptr<rd_kafka_topic_partition_list_t, TopicPartitionListDeleter>;
using MessageHandle = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using HeadersHandle = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;
using ErrorHandle = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;
using QueueHandle = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using EventHandle = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using TopicHandle = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

}  // namespace surge::kafka::internal

#endif  // SURGE_KAFKA_INTERNAL_HOLDERS_H_
