#include "kafka/topic_check.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"

namespace surge::kafka {
namespace {

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};

// Said once per process: a node checks its topics in several calls, and
// the answer does not change between them.
std::atomic<bool> unchecked_logged{false};  // relaxed: only guards a log line

// The cleanup.policy of each topic, as DescribeConfigs reports it.
// UNIMPLEMENTED when the broker does not answer it.
absl::StatusOr<std::map<std::string, std::string>> CleanupPolicies(
    rd_kafka_t* client, const rd_kafka_metadata_t& metadata,
    const std::vector<ExpectedTopic>& topics, absl::Duration timeout) {
  // librdkafka sends DescribeConfigs to the controller. A cluster whose
  // metadata names none of its brokers as controller (the mock broker says
  // 0, its brokers are 1..n) would only time out.
  const int32_t controller = rd_kafka_controllerid(client, 0);
  bool known = false;
  for (int i = 0; i < metadata.broker_cnt; ++i) known |= metadata.brokers[i].id == controller;
  if (!known) {
    return absl::UnimplementedError(
        absl::StrCat("the metadata names no broker as controller (", controller, ")"));
  }
  std::vector<rd_kafka_ConfigResource_t*> resources;
  for (const ExpectedTopic& t : topics) {
    resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.name.c_str()));
  }
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(client));
  std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter> admin(
      rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  char errstr[256] = {0};
  rd_kafka_AdminOptions_set_request_timeout(
      admin.get(), static_cast<int>(absl::ToInt64Milliseconds(timeout)), errstr, sizeof(errstr));
  rd_kafka_DescribeConfigs(client, resources.data(), resources.size(), admin.get(), queue.get());
  for (rd_kafka_ConfigResource_t* r : resources) rd_kafka_ConfigResource_destroy(r);
  std::unique_ptr<rd_kafka_event_t, EventDeleter> event(rd_kafka_queue_poll(
      queue.get(), static_cast<int>(absl::ToInt64Milliseconds(timeout)) + 1000));
  if (event == nullptr) return absl::UnimplementedError("no DescribeConfigs answer in time");
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnimplementedError(rd_kafka_event_error_string(event.get()));
  }
  const rd_kafka_DescribeConfigs_result_t* result =
      rd_kafka_event_DescribeConfigs_result(event.get());
  if (result == nullptr) return absl::UnimplementedError("not a DescribeConfigs result");
  size_t count = 0;
  const rd_kafka_ConfigResource_t** described =
      rd_kafka_DescribeConfigs_result_resources(result, &count);
  std::map<std::string, std::string> policies;
  for (size_t i = 0; i < count; ++i) {
    if (rd_kafka_ConfigResource_error(described[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnimplementedError(rd_kafka_ConfigResource_error_string(described[i]));
    }
    size_t entries = 0;
    const rd_kafka_ConfigEntry_t** configs =
        rd_kafka_ConfigResource_configs(described[i], &entries);
    for (size_t j = 0; j < entries; ++j) {
      if (absl::string_view(rd_kafka_ConfigEntry_name(configs[j])) == "cleanup.policy") {
        const char* value = rd_kafka_ConfigEntry_value(configs[j]);
        policies[rd_kafka_ConfigResource_name(described[i])] = value == nullptr ? "" : value;
      }
    }
  }
  return policies;
}

}  // namespace

absl::Status CheckTopics(const TopicCheckOptions& options,
                         const std::vector<ExpectedTopic>& topics) {
  std::map<std::string, std::string> settings = {{"bootstrap.servers", options.bootstrap_servers},
                                                 {"client.id", "surge-topic-check"}};
  for (const auto& [key, value] : options.client_config) settings[key] = value;
  SURGE_ASSIGN_OR_RETURN(internal::ConfHandle conf, internal::MakeConf(settings));
  SURGE_ASSIGN_OR_RETURN(internal::ClientHandle client,
                         internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(client.get(), /*all_topics=*/1, nullptr, &raw,
                        static_cast<int>(absl::ToInt64Milliseconds(options.timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::KafkaStatus(err, absl::StrCat("metadata from ", options.bootstrap_servers));
  }
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> metadata(raw);
  for (const ExpectedTopic& topic : topics) {
    const rd_kafka_metadata_topic_t* found = nullptr;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      if (topic.name == metadata->topics[i].topic) found = &metadata->topics[i];
    }
    if (found == nullptr || found->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return absl::FailedPreconditionError(
          absl::StrCat("topic ", topic.name, " does not exist on ", options.bootstrap_servers,
                       ": create it with ", topic.partitions,
                       " partitions (surge-cli kafka topics prints the commands)"));
    }
    if (found->partition_cnt != topic.partitions) {
      return absl::FailedPreconditionError(
          topic.name == kClusterTopic
              ? absl::StrCat("topic ", topic.name, " has ", found->partition_cnt,
                             " partitions but must have 1: every node reads the heartbeats "
                             "as one ordered stream")
              : absl::StrCat("topic ", topic.name, " has ", found->partition_cnt,
                             " partitions but --kafka_partitions is ", topic.partitions,
                             ": surge picks partitions itself, so they must agree"));
    }
  }
  absl::StatusOr<std::map<std::string, std::string>> policies =
      CleanupPolicies(client.get(), *metadata, topics, options.describe_timeout);
  if (!policies.ok()) {
    if (!unchecked_logged.exchange(true, std::memory_order_relaxed)) {
      SURGE_LOG(WARNING, "kafka")
          << "the brokers at " << options.bootstrap_servers
          << " did not describe the topics' configs (" << policies.status().message()
          << "): their cleanup.policy could not be checked; it must be delete, not compact "
             "(surge-cli kafka topics)";
    }
    return absl::OkStatus();
  }
  for (const auto& [topic, policy] : *policies) {
    if (absl::StrContains(policy, "compact")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "topic ", topic, " has cleanup.policy=", policy,
          ": surge replays its records from the start (restores, re-reads), which compaction "
          "would drop; set cleanup.policy=delete"));
    }
  }
  return absl::OkStatus();
}

}  // namespace surge::kafka
