// What replays the dead letters of one input topic, behind the
// DeadLetterService: on a single node the projection's applier (at once,
// through the handler), in a cluster the topic's decider (it hands the
// original message back to the partition's owner through Kafka).
//
// Thread-safety: implementations are called from gRPC threads.
#ifndef SURGE_PROJECTIONS_DEAD_LETTER_REPLAYER_H_
#define SURGE_PROJECTIONS_DEAD_LETTER_REPLAYER_H_

#include <string>

#include "absl/status/statusor.h"

namespace surge::projections {

class DeadLetterReplayer {
 public:
  // What replaying a dead letter did.
  struct Result {
    bool applied = false;  // false when it was already replayed
    std::string result;    // human-readable
  };

  virtual ~DeadLetterReplayer() = default;

  // Replays the dead letter `id` (a row of kDeadLettersCf) and marks it
  // replayed. NOT_FOUND for an unknown id; applied=false when it was
  // replayed before.
  virtual absl::StatusOr<Result> ReplayDeadLetter(const std::string& id) = 0;
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_DEAD_LETTER_REPLAYER_H_
