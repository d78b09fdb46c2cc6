// Where the applier sends a message it gives up on: the runner publishes it
// to "<topic>.dlt" (KafkaDeadLetterPublisher); tests use a fake.
#ifndef SURGE_PROJECTIONS_DEAD_LETTER_PUBLISHER_H_
#define SURGE_PROJECTIONS_DEAD_LETTER_PUBLISHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "projections/consumed_message.h"

namespace surge::projections {

// Why a message was given up on.
struct DeliveryFailure {
  std::string error;                  // the last error's text
  int32_t attempts = 0;               // handling attempts made
  int64_t first_failure_unix_ms = 0;  // wall clock of the first failed attempt
};

// Where a dead letter landed.
struct DeadLetterCoordinates {
  std::string topic;  // "<original topic>.dlt"
  int32_t partition = 0;
  int64_t offset = 0;
};

class DeadLetterPublisher {
 public:
  virtual ~DeadLetterPublisher() = default;
  // Publishes `message` durably (acknowledged) and says where it landed.
  // UNAVAILABLE / DEADLINE_EXCEEDED while the broker cannot take it.
  // Called from one thread at a time.
  virtual absl::StatusOr<DeadLetterCoordinates> Publish(const ConsumedMessage& message,
                                                        const DeliveryFailure& failure) = 0;
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_DEAD_LETTER_PUBLISHER_H_
