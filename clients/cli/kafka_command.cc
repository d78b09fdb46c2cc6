// surge-cli kafka topics: the topics a deployment on a real Kafka needs
// (kafka/topic_plan.h), with the commands to create them. Talks to no
// server and no broker.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/cli/command.h"
#include "kafka/topic_plan.h"

namespace surge::cli {
namespace {

std::string Retention(long long ms) {
  if (ms < 0) return "unlimited (-1)";
  if (ms % (24LL * 3600 * 1000) == 0) return absl::StrFormat("%d days (%d)", ms / 86400000, ms);
  return absl::StrFormat("%d ms", ms);
}

int Topics(const ParsedArgs& args, CommandEnv& env) {
  absl::StatusOr<int64_t> partitions = args.GetInt("partitions", 6);
  if (!partitions.ok()) return UsageError(env, std::string(partitions.status().message()));
  absl::StatusOr<int64_t> rf = args.GetInt("replication-factor", 3);
  if (!rf.ok()) return UsageError(env, std::string(rf.status().message()));
  if (*partitions < 1 || *partitions > 1000) {
    return UsageError(env, "--partitions: must be between 1 and 1000 (--kafka_partitions)");
  }
  if (*rf < 1 || *rf > 32) return UsageError(env, "--replication-factor: must be 1-32");
  const std::string bootstrap = args.GetOr("bootstrap", "BROKER:9093");
  const std::string command_config = args.GetOr("command-config", "");
  const auto topics = kafka::RequiredTopics(
      {.partitions = static_cast<int>(*partitions), .replication_factor = static_cast<int>(*rf)});
  std::ostream& out = env.printer.out();
  out << "Topics surge uses with --kafka_partitions=" << *partitions
      << ". Create them before the first node starts.\n"
      << "Every topic: replication factor " << *rf << ", min.insync.replicas "
      << topics.front().min_insync_replicas
      << " (surge produces with acks=all: a write is acknowledged once that many copies have "
         "it), unclean.leader.election.enable=false (an out-of-sync leader would drop "
         "acknowledged records), cleanup.policy=delete (compaction drops records surge "
         "replays; a node refuses a compacted topic where the brokers report it).\n";
  if (*rf < 3) {
    out << "WARNING: with a replication factor below 3 an acks=all write either stops while a "
           "broker is down (min.insync.replicas = replicas) or is kept by one broker only.\n";
  }
  for (const kafka::TopicRequirement& t : topics) {
    out << "\n"
        << t.name << "  (" << t.used_by << ")\n"
        << "  partitions: " << t.partitions << ": " << t.partitions_why << "\n"
        << "  replication factor: " << t.replication_factor
        << ", min.insync.replicas: " << t.min_insync_replicas << "\n"
        << "  cleanup.policy: " << t.cleanup_policy
        << ", retention.ms: " << Retention(t.retention_ms)
        << (t.retention_bytes > 0 ? absl::StrCat(", retention.bytes: ", t.retention_bytes) : "")
        << ": " << t.retention_why << "\n";
  }
  out << "\n# create them (--command-config: a Java client properties file for TLS/SASL):\n";
  for (const kafka::TopicRequirement& t : topics) {
    out << kafka::CreateTopicCommand(t, bootstrap, command_config) << "\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> KafkaCommands() {
  return {
      {{"kafka topics",
        "[--partitions N] [--replication-factor R] [--bootstrap HOST:PORT] "
        "[--command-config FILE]",
        "Prints the Kafka topics surge needs (partitions, replication, cleanup policy, "
        "retention, and why) and the kafka-topics.sh commands to create them.",
        {{"partitions", true, false, "the nodes' --kafka_partitions (default 6)"},
         {"replication-factor", true, false, "copies of each partition (default 3)"},
         {"bootstrap", true, false, "brokers to put in the commands (default BROKER:9093)"},
         {"command-config", true, false, "kafka-topics.sh client properties (TLS/SASL)"}},
        0,
        0},
       Topics},
  };
}

}  // namespace surge::cli
