// A plain librdkafka consumer for tests: reads every partition of some
// topics from the beginning (no group coordination) and records each
// message with its headers.
#ifndef SURGE_TESTS_KAFKA_TEST_CONSUMER_H_
#define SURGE_TESTS_KAFKA_TEST_CONSUMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace surge::kafka::testing {

struct ConsumedMessage {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;

  // The decimal header `name` (0 when absent or malformed).
  uint64_t NumberHeader(const std::string& name) const;
};

class TestConsumer {
 public:
  // Assigns partitions [0, partitions) of every topic at the beginning.
  static absl::StatusOr<std::unique_ptr<TestConsumer>> Create(
      const std::string& bootstrap, const std::vector<std::string>& topics, int partitions);
  ~TestConsumer();

  // Polls until `done(all messages so far)` is true or `timeout` passes.
  // Returns whether `done` became true.
  bool ConsumeUntil(const std::function<bool(const std::vector<ConsumedMessage>&)>& done,
                    absl::Duration timeout);
  const std::vector<ConsumedMessage>& messages() const { return messages_; }

 private:
  struct Impl;
  explicit TestConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<ConsumedMessage> messages_;
};

}  // namespace surge::kafka::testing

#endif  // SURGE_TESTS_KAFKA_TEST_CONSUMER_H_
