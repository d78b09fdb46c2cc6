// A Kafka tap for long cluster runs: one consumer thread that reads every
// partition of the event topics from the start and keeps every event it
// reads, so the run's whole history stays checkable after the dev broker's
// retention (about 5 MiB a partition) has dropped the oldest messages. It
// stands in for what a real Kafka with unlimited retention would still hold:
// a node whose disk was wiped under --ack=kafka has its acknowledged
// commands nowhere else.
//
//   KafkaTap tap(bootstrap, EventTopicNames());
//   SURGE_RETURN_IF_ERROR(tap.Start());
//   ... the run ...
//   SURGE_ASSIGN_OR_RETURN(KafkaEvents all, tap.CatchUp(absl::Seconds(60)));
//
// A partition the tap fell behind on (its next offset was dropped before it
// read it) is reported as truncated, as ReadTopicEvents does.
//
// Thread-safety: Start, CatchUp and destruction from one thread; the tap's
// own thread owns the consumer.
#ifndef SURGE_TESTS_CLUSTER_KAFKA_TAP_H_
#define SURGE_TESTS_CLUSTER_KAFKA_TAP_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "tests/cluster/kafka_reader.h"

namespace surge::cluster_test {

class KafkaTap {
 public:
  KafkaTap(std::string bootstrap, std::vector<std::string> topics);
  ~KafkaTap();
  KafkaTap(const KafkaTap&) = delete;
  KafkaTap& operator=(const KafkaTap&) = delete;

  // Assigns every partition of the topics from its low watermark and starts
  // the thread.
  absl::Status Start();

  // Waits until the tap has read every partition up to its high watermark
  // as of this call, then returns everything read so far. DEADLINE_EXCEEDED
  // when it reads nothing for `timeout` while behind.
  absl::StatusOr<KafkaEvents> CatchUp(absl::Duration timeout);

 private:
  struct Client;
  void Run();

  const std::string bootstrap_;
  const std::vector<std::string> topics_;
  std::unique_ptr<Client> client_;
  absl::Notification stop_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  KafkaEvents read_ ABSL_GUARDED_BY(mu_);
  // (topic, partition) -> next offset to read.
  std::map<std::pair<std::string, int32_t>, int64_t> next_ ABSL_GUARDED_BY(mu_);
  absl::Time last_read_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::cluster_test

#endif  // SURGE_TESTS_CLUSTER_KAFKA_TAP_H_
