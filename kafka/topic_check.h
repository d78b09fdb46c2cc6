// Checks, at a node's start, that an external Kafka cluster has surge's
// topics as surge needs them (kafka/topic_plan.h says what and why):
//  - each topic exists with the partition count surge was configured for.
//    The relay picks partitions itself (murmur2 of the key modulo the
//    count), so another count would silently break per-key ordering and
//    the gap protocol;
//  - no topic's cleanup.policy includes compact: compaction drops the
//    records a restore or a re-read replays. Brokers that do not answer
//    DescribeConfigs (the mock broker) cannot be checked: that is logged
//    once per process, and the start goes on.
//
//   SURGE_RETURN_IF_ERROR(CheckTopics({.bootstrap_servers = brokers},
//                                     {{"surge.orders", 6}, {"surge.cluster", 1}}));
//
// Thread-safe (a private short-lived client per call).
#ifndef SURGE_KAFKA_TOPIC_CHECK_H_
#define SURGE_KAFKA_TOPIC_CHECK_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace surge::kafka {

struct TopicCheckOptions {
  std::string bootstrap_servers;  // required
  // Raw librdkafka settings of the checking client (TLS, SASL: the
  // producer settings of --kafka_config_file).
  std::map<std::string, std::string> client_config;
  // Bound on the metadata request.
  absl::Duration timeout = absl::Seconds(15);
  // Bound on the DescribeConfigs request (a broker that does not support
  // it answers at once; one that does not answer costs this much).
  absl::Duration describe_timeout = absl::Seconds(5);
};

struct ExpectedTopic {
  std::string name;
  int partitions = 1;
};

// FAILED_PRECONDITION naming the topic when one is missing, has another
// partition count, or is compacted; UNAVAILABLE when the cluster does not
// answer the metadata request in time.
absl::Status CheckTopics(const TopicCheckOptions& options,
                         const std::vector<ExpectedTopic>& topics);

}  // namespace surge::kafka

#endif  // SURGE_KAFKA_TOPIC_CHECK_H_
