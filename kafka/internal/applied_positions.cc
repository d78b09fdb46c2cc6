#include "kafka/internal/applied_positions.h"

#include <algorithm>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "eventstore/event_store.h"

namespace surge::kafka::internal {

std::vector<uint64_t> LowestAppliedPositions(
    const std::vector<std::pair<std::string, std::string>>& checkpoints,
    const std::vector<std::string>& topics, int partitions) {
  // projection -> topic index -> per-partition applied position.
  std::map<std::string, std::map<size_t, std::vector<uint64_t>>> by_projection;
  for (const auto& [key, value] : checkpoints) {
    absl::string_view rest(key);
    if (!absl::ConsumePrefix(&rest, "applied/") || value.size() < 8) continue;
    // Parse from the right: topic names contain dots but no slashes.
    const size_t last = rest.rfind('/');
    if (last == absl::string_view::npos || last == 0) continue;
    const size_t middle = rest.rfind('/', last - 1);
    if (middle == absl::string_view::npos || middle == 0) continue;
    int partition = -1;
    if (!absl::SimpleAtoi(rest.substr(last + 1), &partition) || partition < 0 ||
        partition >= partitions) {
      continue;
    }
    const absl::string_view topic = rest.substr(middle + 1, last - middle - 1);
    const auto topic_it = std::find(topics.begin(), topics.end(), topic);
    if (topic_it == topics.end()) continue;
    const std::string projection(rest.substr(0, middle));
    std::vector<uint64_t>& applied =
        by_projection[projection][static_cast<size_t>(topic_it - topics.begin())];
    applied.resize(static_cast<size_t>(partitions), 0);
    applied[static_cast<size_t>(partition)] = eventstore::DecodeBigEndian64(value);
  }

  const size_t slots = topics.size() * static_cast<size_t>(partitions);
  std::vector<uint64_t> lowest(slots, 0);
  std::vector<bool> seen(slots, false);
  for (const auto& [projection, per_topic] : by_projection) {
    for (const auto& [topic_index, applied] : per_topic) {
      for (size_t p = 0; p < applied.size(); ++p) {
        const size_t slot = topic_index * static_cast<size_t>(partitions) + p;
        lowest[slot] = seen[slot] ? std::min(lowest[slot], applied[p]) : applied[p];
        seen[slot] = true;
      }
    }
  }
  return lowest;
}

}  // namespace surge::kafka::internal
