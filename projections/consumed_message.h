// One Kafka message as the projection machinery sees it, apart from
// librdkafka: where it came from, its bytes, and the gap-protocol headers.
#ifndef SURGE_PROJECTIONS_CONSUMED_MESSAGE_H_
#define SURGE_PROJECTIONS_CONSUMED_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace surge::projections {

struct ConsumedMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;  // the serialized v1::Event (or whatever a producer sent)
  // Header surge-position: the event's log position. nullopt when absent or
  // unparsable (the decoded event's own position is used then).
  std::optional<uint64_t> position;
  // Header surge-prev-position (gap protocol); nullopt when absent.
  std::optional<uint64_t> prev_position;
  // Header surge-origin: the log the event comes from ("" when absent).
  std::string origin;
  // Header surge-replay-of: the dead letter this message replays (cluster
  // mode), "" when absent.
  std::string replay_of;
  // The message's Kafka timestamp when it is a CreateTime: the producer's
  // clock when it produced the message (millisecond resolution). nullopt
  // for LogAppendTime topics and messages without a timestamp.
  std::optional<absl::Time> produced_at;
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_CONSUMED_MESSAGE_H_
