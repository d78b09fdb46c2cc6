// The Kafka topics a surge deployment needs, with what each must be
// configured as and why: what `surge-cli kafka topics` prints and what a
// node checks at start (kafka/topic_check.h). On a real Kafka the topics
// are created by the operator before the first node starts; the embedded
// broker creates its own.
//
//   for (const TopicRequirement& t : RequiredTopics({.partitions = 6})) {
//     std::cout << CreateTopicCommand(t, "broker:9093", "client.properties") << "\n";
//   }
//
// Pure functions: thread-safe.
#ifndef SURGE_KAFKA_TOPIC_PLAN_H_
#define SURGE_KAFKA_TOPIC_PLAN_H_

#include <string>
#include <vector>

namespace surge::kafka {

struct TopicPlanOptions {
  // --kafka_partitions of the nodes (6 is the server's default with
  // --kafka_brokers).
  int partitions = 6;
  // Copies of each partition. 3 with min.insync.replicas 2: an acks=all
  // write survives losing a broker, and writes go on while one is down.
  int replication_factor = 3;
};

struct TopicRequirement {
  std::string name;
  int partitions = 1;
  std::string partitions_why;
  // "single node and cluster" or "cluster mode only".
  std::string used_by;
  int replication_factor = 3;
  // min(2, replication_factor): acks=all waits for this many copies.
  int min_insync_replicas = 2;
  // Always "delete": a compacted event topic or changelog would drop the
  // records surge replays (checked at start where the broker says).
  std::string cleanup_policy = "delete";
  // retention.ms; -1 is unlimited.
  long long retention_ms = -1;
  // retention.bytes per partition; -1 is unlimited (left out of the command).
  long long retention_bytes = -1;
  std::string retention_why;
};

// The event topics, their dead-letter topics, the cluster's changelogs and
// membership topic, in that order.
std::vector<TopicRequirement> RequiredTopics(const TopicPlanOptions& options);

// "kafka-topics.sh --bootstrap-server ... --create ..." for one topic.
// `command_config` (a Java client properties file for TLS/SASL) is added
// as --command-config when not empty.
std::string CreateTopicCommand(const TopicRequirement& topic, const std::string& bootstrap,
                               const std::string& command_config);

}  // namespace surge::kafka

#endif  // SURGE_KAFKA_TOPIC_PLAN_H_
