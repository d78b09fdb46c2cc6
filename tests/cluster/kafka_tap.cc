#include "tests/cluster/kafka_tap.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace surge::cluster_test {

struct KafkaTap::Client {
  rd_kafka_t* rk = nullptr;
  ~Client() {
    if (rk != nullptr) {
      rd_kafka_assign(rk, nullptr);
      rd_kafka_destroy(rk);
    }
  }
};

KafkaTap::KafkaTap(std::string bootstrap, std::vector<std::string> topics)
    : bootstrap_(std::move(bootstrap)), topics_(std::move(topics)) {}

KafkaTap::~KafkaTap() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::Status KafkaTap::Start() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // No subscribe(): partitions are assigned directly (no group).
  const std::vector<std::pair<const char*, const char*>> settings = {
      {"bootstrap.servers", bootstrap_.c_str()}, {"group.id", "surge-cluster-test-tap"},
      {"enable.auto.commit", "false"},           {"fetch.wait.max.ms", "10"},
      {"auto.offset.reset", "earliest"},
  };
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat(k, ": ", err));
    }
  }
  client_ = std::make_unique<Client>();
  client_->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (client_->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("rd_kafka_new: ", err));
  }
  rd_kafka_poll_set_consumer(client_->rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(32);
  for (const std::string& topic : topics_) {
    absl::StatusOr<int> partitions = TopicPartitionCount(client_->rk, topic, absl::Seconds(10));
    if (!partitions.ok()) {
      rd_kafka_topic_partition_list_destroy(list);
      return partitions.status();
    }
    absl::MutexLock lock(&mu_);
    for (int32_t p = 0; p < *partitions; ++p) {
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
      next_[{topic, p}] = 0;
    }
  }
  const rd_kafka_resp_err_t e = rd_kafka_assign(client_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("assign: ", rd_kafka_err2str(e)));
  }
  {
    absl::MutexLock lock(&mu_);
    last_read_ = absl::Now();
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void KafkaTap::Run() {
  while (!stop_.HasBeenNotified()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(client_->rk, 100);
    if (m == nullptr) continue;
    const std::string topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
    {
      absl::MutexLock lock(&mu_);
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        int64_t& next = next_[{topic, m->partition}];
        if (m->offset > next) read_.truncated.insert({topic, m->partition});  // skipped ahead
        if (m->offset >= next) {
          next = m->offset + 1;
          ++read_.messages;
          v1::Event event;
          if (m->payload != nullptr && event.ParseFromArray(m->payload, static_cast<int>(m->len))) {
            read_.events.push_back(std::move(event));
          } else {
            ++read_.undecodable;
          }
        }
        last_read_ = absl::Now();
      } else if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
                 m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        // Retention dropped what the tap had not read yet.
        read_.truncated.insert({topic, m->partition});
      }
    }
    rd_kafka_message_destroy(m);
  }
}

absl::StatusOr<KafkaEvents> KafkaTap::CatchUp(absl::Duration timeout) {
  if (client_ == nullptr) return absl::FailedPreconditionError("the tap was not started");
  std::map<std::pair<std::string, int32_t>, int64_t> target;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, next] : next_) target[tp] = 0;
  }
  for (auto& [tp, high] : target) {
    int64_t low = 0;
    const rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(client_->rk, tp.first.c_str(), tp.second, &low, &high,
                                         static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          absl::StrCat("watermarks of ", tp.first, "/", tp.second, ": ", rd_kafka_err2str(e)));
    }
  }
  while (true) {
    std::string behind;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [tp, high] : target) {
        const int64_t next = next_[tp];
        if (next < high) {
          absl::StrAppend(&behind, " ", tp.first, "/", tp.second, " at ", next, " of ", high);
        }
      }
      if (behind.empty()) return read_;
      if (absl::Now() - last_read_ > timeout) {
        return absl::DeadlineExceededError(absl::StrCat("the Kafka tap read nothing for ",
                                                        absl::FormatDuration(timeout),
                                                        "; behind on", behind));
      }
    }
    absl::SleepFor(absl::Milliseconds(50));  // polling the tap's progress under a bound
  }
}

}  // namespace surge::cluster_test
