#include "kafka/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"

namespace surge::kafka {
namespace {

struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* cluster) const {
    rd_kafka_mock_cluster_destroy(cluster);
  }
};
using MockClusterHandle = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

}  // namespace

struct EmbeddedBroker::Impl {
  Options options;
  std::string bootstrap;
  // Declared before `cluster` so it is destroyed after it: the cluster lives
  // on this handle's threads.
  internal::ClientHandle host;
  // The mock cluster's API is internally synchronised (it posts operations to
  // its own thread), so no mutex is needed here.
  MockClusterHandle cluster;
};

std::vector<std::string> EmbeddedBroker::Options::DefaultTopics() { return EventTopics(); }

absl::StatusOr<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(const Options& options) {
  if (options.brokers < 1) return absl::InvalidArgumentError("brokers must be >= 1");
  if (options.partitions < 1) return absl::InvalidArgumentError("partitions must be >= 1");
  if (options.replication_factor < 1 || options.replication_factor > options.brokers) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication_factor must be in [1, brokers=", options.brokers, "]"));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  // A producer that never produces: it only hosts the cluster. No bootstrap
  // servers, so it opens no connections of its own.
  absl::StatusOr<internal::ConfHandle> conf = internal::MakeConf({{"log_level", "3"}});
  if (!conf.ok()) return conf.status();
  absl::StatusOr<internal::ClientHandle> host =
      internal::NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!host.ok()) return absl::InternalError(host.status().message());
  impl->host = std::move(*host);
  impl->cluster.reset(rd_kafka_mock_cluster_new(impl->host.get(), options.brokers));
  if (impl->cluster == nullptr) return absl::InternalError("rd_kafka_mock_cluster_new failed");
  impl->bootstrap = rd_kafka_mock_cluster_bootstraps(impl->cluster.get());

  auto broker = std::unique_ptr<EmbeddedBroker>(new EmbeddedBroker(std::move(impl)));
  for (const std::string& topic : options.topics) {
    absl::Status status = broker->CreateTopic(topic, options.partitions);
    if (status.ok()) status = broker->CreateTopic(DeadLetterTopic(topic), options.partitions);
    if (!status.ok()) return status;
  }
  SURGE_LOG(INFO, "kafka") << "embedded broker: " << options.brokers << " brokers, "
                           << options.partitions
                           << " partitions, bootstrap=" << broker->bootstrap_servers();
  return broker;
}

EmbeddedBroker::EmbeddedBroker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EmbeddedBroker::~EmbeddedBroker() = default;

const std::string& EmbeddedBroker::bootstrap_servers() const { return impl_->bootstrap; }

const EmbeddedBroker::Options& EmbeddedBroker::options() const { return impl_->options; }

absl::Status EmbeddedBroker::CreateTopic(absl::string_view topic, int partitions) {
  const std::string name(topic);
  return internal::KafkaStatus(
      rd_kafka_mock_topic_create(impl_->cluster.get(), name.c_str(), partitions,
                                 impl_->options.replication_factor),
      absl::StrCat("create topic ", topic));
}

absl::Status EmbeddedBroker::SetBrokerDown(int32_t broker_id) {
  return internal::KafkaStatus(rd_kafka_mock_broker_set_down(impl_->cluster.get(), broker_id),
                               absl::StrCat("set broker ", broker_id, " down"));
}

absl::Status EmbeddedBroker::SetBrokerUp(int32_t broker_id) {
  return internal::KafkaStatus(rd_kafka_mock_broker_set_up(impl_->cluster.get(), broker_id),
                               absl::StrCat("set broker ", broker_id, " up"));
}

absl::Status EmbeddedBroker::SetBrokerRtt(int32_t broker_id, absl::Duration rtt) {
  return internal::KafkaStatus(
      rd_kafka_mock_broker_set_rtt(impl_->cluster.get(), broker_id,
                                   static_cast<int>(absl::ToInt64Milliseconds(rtt))),
      absl::StrCat("set broker ", broker_id, " rtt"));
}

void EmbeddedBroker::PushRequestErrors(int16_t api_key, const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  codes.reserve(errors.size());
  for (int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(impl_->cluster.get(), api_key, codes.size(),
                                          codes.data());
}

void EmbeddedBroker::PushProduceErrors(const std::vector<int>& errors) {
  PushRequestErrors(kProduceApiKey, errors);
}

void EmbeddedBroker::ClearRequestErrors(int16_t api_key) {
  rd_kafka_mock_clear_request_errors(impl_->cluster.get(), api_key);
}

absl::Status EmbeddedBroker::SetPartitionLeader(absl::string_view topic, int32_t partition,
                                                int32_t broker_id) {
  const std::string name(topic);
  return internal::KafkaStatus(
      rd_kafka_mock_partition_set_leader(impl_->cluster.get(), name.c_str(), partition, broker_id),
      absl::StrCat("move leader of ", topic, "/", partition, " to ", broker_id));
}

}  // namespace surge::kafka
