#include "kafka/topic_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kafka/topics.h"

namespace surge::kafka {
namespace {

constexpr long long kDay = 24LL * 3600 * 1000;
// Per changelog partition: dozens of snapshots of a coupon or stock state,
// and a few of an order state of several MiB.
constexpr long long kChangelogRetentionBytes = 64LL << 20;

}  // namespace

std::vector<TopicRequirement> RequiredTopics(const TopicPlanOptions& options) {
  const int n = std::max(1, options.partitions);
  const int rf = std::max(1, options.replication_factor);
  auto make = [&](std::string name, int partitions, std::string partitions_why, std::string used_by,
                  long long retention_ms, std::string retention_why) {
    TopicRequirement t;
    t.name = std::move(name);
    t.partitions = partitions;
    t.partitions_why = std::move(partitions_why);
    t.used_by = std::move(used_by);
    t.replication_factor = rf;
    t.min_insync_replicas = std::min(2, rf);
    t.retention_ms = retention_ms;
    t.retention_why = std::move(retention_why);
    return t;
  };
  std::vector<TopicRequirement> topics;
  for (const std::string& topic : EventTopics()) {
    topics.push_back(make(
        topic, n,
        absl::StrCat("--kafka_partitions (", n,
                     "): the relay picks the partition itself (murmur2 of the key modulo the "
                     "count) and a node refuses a topic with another count; it bounds how many "
                     "nodes decide the topic in parallel, and changing it later re-routes keys"),
        "single node and cluster", 7 * kDay,
        "must outlive the longest time a consumer (projection, decider) may stop reading: "
        "what it has not read when it is deleted is lost to it, and only the node whose log "
        "holds the events can re-relay them"));
  }
  for (const std::string& topic : EventTopics()) {
    topics.push_back(make(DeadLetterTopic(topic), n,
                          "same as its topic: a key's dead letters stay together (any count "
                          "works; the publisher hashes the key)",
                          "single node and cluster", 14 * kDay,
                          "for operators to inspect; each node also keeps its dead letters in its "
                          "data dir (surge-cli dlt list / replay)"));
  }
  for (const std::string& topic : EventTopics()) {
    topics.push_back(make(ChangelogTopic(topic), n,
                          absl::StrCat("same as ", topic,
                                       ": changelog partition p holds the decider state of "
                                       "event partition p"),
                          "cluster mode only", -1,
                          "by size, not time (retention.ms=-1, retention.bytes=64 MiB per "
                          "partition; never compaction): a node that gains a partition restores "
                          "its state from the latest complete snapshot and the records after it, "
                          "so the retention must keep at least two snapshots plus one interval "
                          "(2 x surge_cluster_snapshot_size_bytes + --cluster_snapshot_bytes); a "
                          "partition left with neither a complete snapshot nor its first records "
                          "is kept undecided (surge_cluster_blocked_partitions)"));
    topics.back().retention_bytes = kChangelogRetentionBytes;
  }
  topics.push_back(make(kClusterTopic, 1,
                        "1: one ordered stream of heartbeats that every node reads in full",
                        "cluster mode only", 1 * kDay,
                        "heartbeats older than a few seconds say nothing; a day is plenty"));
  return topics;
}

std::string CreateTopicCommand(const TopicRequirement& topic, const std::string& bootstrap,
                               const std::string& command_config) {
  std::string command = absl::StrCat("kafka-topics.sh --bootstrap-server ", bootstrap);
  if (!command_config.empty()) absl::StrAppend(&command, " --command-config ", command_config);
  absl::StrAppend(&command, " --create --if-not-exists --topic ", topic.name, " --partitions ",
                  topic.partitions, " --replication-factor ", topic.replication_factor,
                  " --config min.insync.replicas=", topic.min_insync_replicas,
                  " --config cleanup.policy=", topic.cleanup_policy,
                  " --config retention.ms=", topic.retention_ms);
  if (topic.retention_bytes > 0) {
    absl::StrAppend(&command, " --config retention.bytes=", topic.retention_bytes);
  }
  absl::StrAppend(&command, " --config unclean.leader.election.enable=false");
  return command;
}

}  // namespace surge::kafka
