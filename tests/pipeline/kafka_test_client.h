// A tiny librdkafka client for tests that talk to surge's broker directly
// (producing poison messages, reading topics back).
#ifndef SURGE_TESTS_PIPELINE_KAFKA_TEST_CLIENT_H_
#define SURGE_TESTS_PIPELINE_KAFKA_TEST_CLIENT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace surge::testing {

struct ConsumedMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

// Produces one message (murmur2 partitioner, like surge's relay) and waits
// for its delivery.
absl::Status ProduceOne(const std::string& bootstrap, const std::string& topic,
                        const std::string& key, const std::string& value,
                        absl::Duration timeout = absl::Seconds(20));

// Reads every partition of `topic` from the beginning until `count` messages
// arrived or `timeout` passed; returns what arrived.
std::vector<ConsumedMessage> ConsumeFromBeginning(const std::string& bootstrap,
                                                  const std::string& topic, size_t count,
                                                  absl::Duration timeout = absl::Seconds(30));

// The embedded broker's bootstrap servers, from the file the server writes
// into its data dir.
absl::StatusOr<std::string> ReadBootstrapFile(const std::string& data_dir);

}  // namespace surge::testing

#endif  // SURGE_TESTS_PIPELINE_KAFKA_TEST_CLIENT_H_
