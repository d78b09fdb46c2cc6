#include "cluster/membership.h"

#include <librdkafka/rdkafka.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/thread_name.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"

namespace surge::cluster {
namespace {

using kafka::internal::ClientHandle;
using kafka::internal::MessageHandle;
using kafka::internal::TopicPartitionListHandle;

}  // namespace

struct Membership::Kafka {
  ClientHandle producer;
  ClientHandle consumer;
};

absl::StatusOr<std::unique_ptr<Membership>> Membership::Create(const Options& options) {
  if (options.bootstrap_servers.empty() || options.node_id.empty()) {
    return absl::InvalidArgumentError("Membership needs bootstrap_servers and node_id");
  }
  auto kafka = std::make_unique<Kafka>();
  std::map<std::string, std::string> producer = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"client.id", absl::StrCat("surge-", options.node_id, "-members")},
      {"linger.ms", "0"},
      {"message.timeout.ms", "5000"}};
  for (const auto& [key, value] : options.producer_config) producer[key] = value;
  SURGE_ASSIGN_OR_RETURN(kafka::internal::ConfHandle conf, kafka::internal::MakeConf(producer));
  SURGE_ASSIGN_OR_RETURN(kafka->producer,
                         kafka::internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
  std::map<std::string, std::string> consumer = {
      {"bootstrap.servers", options.bootstrap_servers},
      {"group.id", absl::StrCat("surge-members-", options.node_id)},
      {"client.id", absl::StrCat("surge-", options.node_id, "-members-in")},
      {"enable.auto.commit", "false"},
      {"auto.offset.reset", "earliest"},
      {"fetch.wait.max.ms", "100"}};
  for (const auto& [key, value] : options.consumer_config) consumer[key] = value;
  SURGE_ASSIGN_OR_RETURN(conf, kafka::internal::MakeConf(consumer));
  SURGE_ASSIGN_OR_RETURN(kafka->consumer,
                         kafka::internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  rd_kafka_poll_set_consumer(kafka->consumer.get());
  return std::unique_ptr<Membership>(new Membership(options, std::move(kafka)));
}

Membership::Membership(const Options& options, std::unique_ptr<Kafka> kafka)
    : options_(options),
      kafka_(std::move(kafka)),
      started_unix_ms_(absl::ToUnixMillis(absl::Now())) {}

Membership::~Membership() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  Send(/*leaving=*/true);
  rd_kafka_flush(kafka_->producer.get(), 2000);
  rd_kafka_consumer_close(kafka_->consumer.get());
}

absl::Status Membership::Start() {
  TopicPartitionListHandle list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), kafka::kClusterTopic, 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  SURGE_RETURN_IF_ERROR(kafka::internal::KafkaStatus(
      rd_kafka_assign(kafka_->consumer.get(), list.get()), "assign surge.cluster"));
  thread_ = std::thread([this] {
    SetCurrentThreadName("surge-members");
    Run();
  });
  return absl::OkStatus();
}

void Membership::SetGrpcAddr(std::string addr) {
  absl::MutexLock lock(&mu_);
  grpc_addr_ = std::move(addr);
  dirty_ = true;
}

void Membership::SetOwned(std::vector<OwnedPartition> owned) {
  absl::MutexLock lock(&mu_);
  owned_ = std::move(owned);
  dirty_ = true;
}

std::vector<Membership::Member> Membership::Members() const {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const int64_t stale = absl::ToInt64Milliseconds(options_.stale_after);
  absl::MutexLock lock(&mu_);
  std::vector<Member> out;
  for (const auto& [id, beat] : members_) {
    out.push_back(Member{beat, !beat.leaving() && now - beat.sent_unix_ms() <= stale});
  }
  return out;
}

void Membership::Send(bool leaving) {
  Heartbeat beat;
  beat.set_node_id(options_.node_id);
  beat.set_origin(options_.origin);
  beat.set_sent_unix_ms(absl::ToUnixMillis(absl::Now()));
  beat.set_started_unix_ms(started_unix_ms_);
  beat.set_leaving(leaving);
  {
    absl::MutexLock lock(&mu_);
    dirty_ = false;
    beat.set_grpc_addr(grpc_addr_.empty() ? options_.grpc_addr : grpc_addr_);
    if (!leaving) {
      for (const OwnedPartition& o : owned_) *beat.add_owned() = o;
    }
  }
  std::string value = beat.SerializeAsString();
  rd_kafka_producev(kafka_->producer.get(), RD_KAFKA_V_TOPIC(kafka::kClusterTopic),
                    RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(options_.node_id.data(), options_.node_id.size()),
                    RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_END);
}

void Membership::Run() {
  absl::Time next_beat = absl::InfinitePast();
  while (true) {
    bool dirty = false;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      dirty = dirty_;
    }
    if (dirty || absl::Now() >= next_beat) {
      Send(/*leaving=*/false);
      next_beat = absl::Now() + options_.interval;
    }
    rd_kafka_poll(kafka_->producer.get(), 0);
    for (int timeout = 50;; timeout = 0) {
      MessageHandle msg(rd_kafka_consumer_poll(kafka_->consumer.get(), timeout));
      if (msg == nullptr) break;
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR || msg->payload == nullptr) continue;
      Heartbeat beat;
      if (!beat.ParseFromArray(msg->payload, static_cast<int>(msg->len))) continue;
      absl::MutexLock lock(&mu_);
      Heartbeat& known = members_[beat.node_id()];
      const bool back = known.node_id().empty() || known.leaving() != beat.leaving();
      if (beat.sent_unix_ms() >= known.sent_unix_ms()) known = std::move(beat);
      if (back && known.node_id() != options_.node_id) {
        SURGE_LOG(INFO, "cluster")
            << "member " << known.node_id() << (known.leaving() ? " left" : " seen") << " ("
            << known.grpc_addr() << ")";
      }
    }
  }
}

}  // namespace surge::cluster
