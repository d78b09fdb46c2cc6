// Reads every message of some topics from a Kafka cluster (the dev broker)
// and decodes the values as surge.v1.Event: the cluster-wide history, which
// still holds what a SIGKILLed node with a deleted disk, or a node removed
// from the cluster, had relayed. Partitions are assigned directly (no
// consumer group), read from the low to the high watermark taken at the
// start. `timeout` bounds each wait for the next message, not the whole
// read.
//
//   SURGE_ASSIGN_OR_RETURN(KafkaEvents events, ReadTopicEvents(bootstrap, {"surge.orders"}));
//
// Thread-safe (each call has its own client).
#ifndef SURGE_TESTS_CLUSTER_KAFKA_READER_H_
#define SURGE_TESTS_CLUSTER_KAFKA_READER_H_

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "surge/v1/events.pb.h"

struct rd_kafka_s;  // librdkafka's rd_kafka_t, kept out of this header

namespace surge::cluster_test {

struct KafkaEvents {
  std::vector<v1::Event> events;
  int64_t messages = 0;     // messages read
  int64_t undecodable = 0;  // values that are not a serialized Event
  // Partitions whose start was dropped by retention (low watermark > 0).
  std::set<std::pair<std::string, int32_t>> truncated;
};

// The decision and command topics of surge.
std::vector<std::string> EventTopicNames();

// The partition count of `topic` in the cluster's metadata, asked through
// `rk` (an rd_kafka_t*); UNAVAILABLE when the cluster does not know it.
absl::StatusOr<int> TopicPartitionCount(rd_kafka_s* rk, const std::string& topic,
                                        absl::Duration timeout);

absl::StatusOr<KafkaEvents> ReadTopicEvents(const std::string& bootstrap,
                                            const std::vector<std::string>& topics,
                                            absl::Duration timeout = absl::Seconds(30));

}  // namespace surge::cluster_test

#endif  // SURGE_TESTS_CLUSTER_KAFKA_READER_H_
