#include "kafka/topic_check.h"

#include <librdkafka/rdkafka.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"

namespace surge::kafka {
namespace {

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};

}  // namespace

absl::Status CheckTopics(const std::string& bootstrap_servers,
                         const std::vector<std::string>& topics, int partitions,
                         absl::Duration timeout) {
  SURGE_ASSIGN_OR_RETURN(internal::ConfHandle conf,
                         internal::MakeConf({{"bootstrap.servers", bootstrap_servers}}));
  SURGE_ASSIGN_OR_RETURN(internal::ClientHandle client,
                         internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(client.get(), /*all_topics=*/1, nullptr, &raw,
                        static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::KafkaStatus(err, absl::StrCat("metadata from ", bootstrap_servers));
  }
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> metadata(raw);
  for (const std::string& topic : topics) {
    const rd_kafka_metadata_topic_t* found = nullptr;
    for (int i = 0; i < metadata->topic_cnt; ++i) {
      if (topic == metadata->topics[i].topic) found = &metadata->topics[i];
    }
    if (found == nullptr || found->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return absl::FailedPreconditionError(absl::StrCat(
          "topic ", topic, " does not exist on ", bootstrap_servers, ": create it with ",
          partitions, " partitions (--kafka_partitions)"));
    }
    if (found->partition_cnt != partitions) {
      return absl::FailedPreconditionError(absl::StrCat(
          "topic ", topic, " has ", found->partition_cnt, " partitions but --kafka_partitions is ",
          partitions, ": surge picks partitions itself, so they must agree"));
    }
  }
  return absl::OkStatus();
}

}  // namespace surge::kafka
