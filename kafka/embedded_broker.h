// An in-process Kafka cluster for development and tests: librdkafka's mock
// cluster with surge's topics (and their dead-letter twins) created up front.
// Clients anywhere (this process, kcat, another process) reach it over
// loopback TCP through bootstrap_servers().
//
//   SURGE_ASSIGN_OR_RETURN(auto broker, EmbeddedBroker::Start({}));
//   relay_options.bootstrap_servers = broker->bootstrap_servers();
//
// It keeps messages in memory only and silently drops a partition's oldest
// messages beyond about 5 MiB; a restart starts empty (ARCHITECTURE.md §2 says how
// surge copes). The fault controls (broker down/up, injected request errors,
// leader moves, latency) exist so tests can prove recovery.
//
// Thread-safety: every method may be called from any thread. Ownership: the
// broker owns its mock cluster and the private librdkafka handle hosting it;
// destroying it disconnects every client.
#ifndef SURGE_KAFKA_EMBEDDED_BROKER_H_
#define SURGE_KAFKA_EMBEDDED_BROKER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace surge::kafka {

// Kafka protocol request types (ApiKey) for PushRequestErrors.
inline constexpr int16_t kProduceApiKey = 0;
inline constexpr int16_t kFetchApiKey = 1;
inline constexpr int16_t kMetadataApiKey = 3;
inline constexpr int16_t kOffsetCommitApiKey = 8;

class EmbeddedBroker {
 public:
  struct Options {
    // Brokers in the cluster, ids 1..brokers. Several brokers let tests take
    // one leader down while the others keep serving.
    int brokers = 3;
    // Partitions of every created topic. The relay and the projections must
    // agree on it (Relay::Options::partitions).
    int partitions = 6;
    // Replicas per partition, at most `brokers`. acks=all waits for the
    // mock's in-sync replicas, so this changes which broker outages block.
    int replication_factor = 3;
    // Topics to create; each also gets its DeadLetterTopic twin.
    std::vector<std::string> topics = DefaultTopics();

    static std::vector<std::string> DefaultTopics();
  };

  // Starts the cluster and creates the topics. INVALID_ARGUMENT for bad
  // options; INTERNAL when librdkafka cannot create the cluster.
  static absl::StatusOr<std::unique_ptr<EmbeddedBroker>> Start(const Options& options);

  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;
  ~EmbeddedBroker();

  // "127.0.0.1:port,..." — the kernel chooses the ports.
  const std::string& bootstrap_servers() const;
  const Options& options() const;

  // Creates one more topic (no dead-letter twin). Creating an existing topic
  // is an error from the mock (ALREADY_EXISTS-like codes map through the
  // Kafka error adapter).
  absl::Status CreateTopic(absl::string_view topic, int partitions);

  // Disconnects broker `broker_id` (1-based; -1 = all) and refuses new
  // connections. Leadership does not move. NOT_FOUND for an unknown id.
  absl::Status SetBrokerDown(int32_t broker_id);
  // Lets it accept connections again.
  absl::Status SetBrokerUp(int32_t broker_id);
  // Adds `rtt` of latency to every response of broker `broker_id` (-1 = all).
  absl::Status SetBrokerRtt(int32_t broker_id, absl::Duration rtt);

  // The next errors.size() requests of type `api_key`, on any broker, fail
  // with these codes in order (librdkafka rd_kafka_resp_err_t values, which
  // equal the Kafka protocol codes for broker errors, e.g. 6 =
  // NOT_LEADER_FOR_PARTITION, 7 = REQUEST_TIMED_OUT; -195 = _TRANSPORT makes
  // the broker disconnect the client).
  void PushRequestErrors(int16_t api_key, const std::vector<int>& errors);
  // PushRequestErrors(kProduceApiKey, errors).
  void PushProduceErrors(const std::vector<int>& errors);
  // Drops the pending injected errors of `api_key`.
  void ClearRequestErrors(int16_t api_key);

  // Moves the leadership of one partition (broker_id -1 = leaderless).
  absl::Status SetPartitionLeader(absl::string_view topic, int32_t partition, int32_t broker_id);

 private:
  struct Impl;
  explicit EmbeddedBroker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace surge::kafka

#endif  // SURGE_KAFKA_EMBEDDED_BROKER_H_
