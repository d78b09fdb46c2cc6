// Checks that an external Kafka cluster has surge's topics with the
// partition count surge was configured for. The relay picks partitions
// itself (murmur2 of the key modulo the count), so a topic with another
// count would silently break per-key ordering and the gap protocol.
//
//   SURGE_RETURN_IF_ERROR(CheckTopics(bootstrap, EventTopics(), 6, absl::Seconds(10)));
//
// Thread-safe (a private short-lived client per call).
#ifndef SURGE_KAFKA_TOPIC_CHECK_H_
#define SURGE_KAFKA_TOPIC_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace surge::kafka {

// FAILED_PRECONDITION naming the topic when one is missing or has another
// partition count; UNAVAILABLE when the cluster does not answer in time.
absl::Status CheckTopics(const std::string& bootstrap_servers,
                         const std::vector<std::string>& topics, int partitions,
                         absl::Duration timeout);

}  // namespace surge::kafka

#endif  // SURGE_KAFKA_TOPIC_CHECK_H_
