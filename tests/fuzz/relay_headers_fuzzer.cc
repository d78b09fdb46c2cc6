// Fuzz target: the text the relay reads and writes around Kafka messages —
// the projections' applied-position checkpoint keys it parses to find the
// slowest projection (kafka/internal/applied_positions.h), and the topic,
// dead-letter topic and partition helpers (kafka/topics.h).
//
// Input: a partition count byte, then entries until the input ends: a kind
// byte, then either a well-formed checkpoint ("applied/<projection>/<topic>/
// <partition>" built from fuzzed parts) or a raw key, and a value.
//
// Oracles: the result has one slot per (topic, partition); for well-formed
// keys it equals an independent computation (per slot, the lowest applied
// position over the projections that checkpoint that topic, a missing
// partition counting as 0); raw keys that do not start with "applied/" change
// nothing; the helpers stay in range.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kafka/internal/applied_positions.h"
#include "kafka/topics.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace surge::fuzz {
namespace {

uint64_t BigEndian(const std::string& value) {
  uint64_t out = 0;
  for (size_t i = 0; i < 8; ++i) out = (out << 8) | static_cast<unsigned char>(value[i]);
  return out;
}

}  // namespace
}  // namespace surge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge;        // NOLINT: entry point only
  using namespace surge::fuzz;  // NOLINT
  FuzzInput in(data, size);
  const int partitions = in.Byte() % 13;  // 0 is legal input and must not crash
  const std::vector<std::string> topics = kafka::EventTopics();

  std::vector<std::pair<std::string, std::string>> checkpoints;
  // Reference: projection -> topic index -> partition -> applied position.
  std::map<std::string, std::map<size_t, std::map<int, uint64_t>>> expected_by_projection;
  while (!in.empty()) {
    const uint8_t kind = in.Byte();
    if (kind % 4 == 0) {
      // A raw key outside the checkpoint namespace: must be ignored.
      std::string key = in.Bytes();
      if (absl::StartsWith(key, "applied/")) key.insert(0, "x");
      checkpoints.emplace_back(std::move(key), in.Bytes());
      continue;
    }
    // Well-formed: slashes in the projection name are allowed (the key is
    // parsed from the right); topics never contain one.
    const std::string projection = in.Bytes();
    const size_t topic_index = in.Byte() % (topics.size() + 1);
    const std::string topic = topic_index < topics.size()
                                  ? topics[topic_index]
                                  : absl::StrReplaceAll(in.Bytes(), {{"/", ""}});
    const int partition = in.Int<int16_t>() % 16;  // may be negative or out of range
    const std::string value = in.Bytes();
    checkpoints.emplace_back(absl::StrCat("applied/", projection, "/", topic, "/", partition),
                             value);
    size_t known = 0;
    while (known < topics.size() && topics[known] != topic) ++known;
    if (projection.empty() || known == topics.size() || partition < 0 || partition >= partitions ||
        value.size() < 8) {
      continue;
    }
    expected_by_projection[projection][known][partition] = BigEndian(value);  // last wins
  }

  const std::vector<uint64_t> lowest =
      kafka::internal::LowestAppliedPositions(checkpoints, topics, partitions);
  const size_t slots = topics.size() * static_cast<size_t>(partitions);
  SURGE_FUZZ_CHECK(lowest.size() == slots, "%zu slots, expected %zu", lowest.size(), slots);

  std::vector<uint64_t> expected(slots, 0);
  std::vector<bool> seen(slots, false);
  for (const auto& [projection, per_topic] : expected_by_projection) {
    for (const auto& [topic_index, applied] : per_topic) {
      for (int p = 0; p < partitions; ++p) {
        const auto it = applied.find(p);
        const uint64_t value = it == applied.end() ? 0 : it->second;
        const size_t slot = topic_index * static_cast<size_t>(partitions) + p;
        expected[slot] = seen[slot] ? std::min(expected[slot], value) : value;
        seen[slot] = true;
      }
    }
  }
  for (size_t slot = 0; slot < slots; ++slot) {
    SURGE_FUZZ_CHECK(lowest[slot] == expected[slot], "slot %zu: %llu, expected %llu", slot,
                     static_cast<unsigned long long>(lowest[slot]),
                     static_cast<unsigned long long>(expected[slot]));
  }

  // Topic helpers on the fuzzed keys and values.
  for (const auto& [key, value] : checkpoints) {
    SURGE_FUZZ_CHECK(kafka::DeadLetterTopic(key) == key + ".dlt", "DeadLetterTopic");
    SURGE_FUZZ_CHECK(kafka::Murmur2(key) == kafka::Murmur2(std::string(key)), "Murmur2");
    for (int32_t count : {1, 3, 6, 1024, 2147483647}) {
      const int32_t p = kafka::PartitionFor(value, count);
      SURGE_FUZZ_CHECK(p >= 0 && p < count, "PartitionFor %d of %d", p, count);
    }
  }
  return 0;
}
