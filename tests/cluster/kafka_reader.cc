#include "tests/cluster/kafka_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace surge::cluster_test {
namespace {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

int TimeoutMs(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return static_cast<int>(std::max<int64_t>(ms, 1));
}

}  // namespace

std::vector<std::string> EventTopicNames() {
  return {"surge.orders", "surge.stock", "surge.coupons"};
}

absl::StatusOr<int> TopicPartitionCount(rd_kafka_t* rk, const std::string& topic,
                                        absl::Duration timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_resp_err_t e =
      rd_kafka_metadata(rk, 0, rkt, &md, TimeoutMs(absl::Now() + timeout));
  int partitions = 0;
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0) {
    partitions = md->topics[0].partition_cnt;
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  if (partitions == 0) {
    return absl::UnavailableError(
        absl::StrCat("no metadata for topic ", topic, ": ", rd_kafka_err2str(e)));
  }
  return partitions;
}

absl::StatusOr<KafkaEvents> ReadTopicEvents(const std::string& bootstrap,
                                            const std::vector<std::string>& topics,
                                            absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  // No subscribe(): partitions are assigned directly, so this client never
  // joins a group (and never meets the servers' assignment strategy).
  const std::map<std::string, std::string> settings = {
      {"bootstrap.servers", bootstrap}, {"group.id", "surge-cluster-test-reader"},
      {"enable.auto.commit", "false"},  {"enable.partition.eof", "true"},
      {"fetch.wait.max.ms", "10"},
  };
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat(k, ": ", err));
    }
  }
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (raw == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("rd_kafka_new: ", err));
  }
  KafkaPtr consumer(raw);
  rd_kafka_t* rk = consumer.get();

  // Every partition with its high watermark now: read up to there.
  std::map<std::pair<std::string, int32_t>, int64_t> remaining_end;  // -> high watermark
  std::set<std::pair<std::string, int32_t>> truncated;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(16);
  for (const std::string& topic : topics) {
    absl::StatusOr<int> partitions = TopicPartitionCount(rk, topic, deadline - absl::Now());
    if (!partitions.ok()) {
      rd_kafka_topic_partition_list_destroy(list);
      return partitions.status();
    }
    for (int32_t p = 0; p < *partitions; ++p) {
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t e =
          rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, TimeoutMs(deadline));
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(list);
        return absl::UnavailableError(
            absl::StrCat("watermarks of ", topic, "/", p, ": ", rd_kafka_err2str(e)));
      }
      if (low > 0) truncated.insert({topic, p});
      if (high <= low) continue;
      remaining_end[{topic, p}] = high;
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = low;
    }
  }
  KafkaEvents out;
  out.truncated = std::move(truncated);
  if (remaining_end.empty()) {
    rd_kafka_topic_partition_list_destroy(list);
    return out;
  }
  rd_kafka_resp_err_t e = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("assign: ", rd_kafka_err2str(e)));
  }
  // A bound on progress, not on the whole read: the dev broker answers a
  // fetch with one produce batch per partition, so a long history is slow
  // to read on a loaded machine, not stuck.
  absl::Time read_deadline = absl::Now() + timeout;
  while (!remaining_end.empty()) {
    if (absl::Now() >= read_deadline) {
      std::string left;
      for (const auto& [tp, high] : remaining_end) {
        absl::StrAppend(&left, " ", tp.first, "/", tp.second, "(to ", high, ")");
      }
      rd_kafka_assign(rk, nullptr);
      return absl::DeadlineExceededError(absl::StrCat("reading the topics: no message for ",
                                                      absl::FormatDuration(timeout),
                                                      "; partitions not read to the end:", left));
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    read_deadline = absl::Now() + timeout;
    const std::string topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
    auto it = remaining_end.find({topic, m->partition});
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++out.messages;
      v1::Event event;
      if (m->payload != nullptr && event.ParseFromArray(m->payload, static_cast<int>(m->len))) {
        out.events.push_back(std::move(event));
      } else {
        ++out.undecodable;
      }
      if (it != remaining_end.end() && m->offset + 1 >= it->second) remaining_end.erase(it);
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (it != remaining_end.end() && m->offset >= it->second) remaining_end.erase(it);
    } else if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
               m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
      // Retention dropped the start meanwhile: what is left is all there is.
      out.truncated.insert({topic, m->partition});
      if (it != remaining_end.end()) remaining_end.erase(it);
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_assign(rk, nullptr);
  return out;
}

}  // namespace surge::cluster_test
