// Where the applier sends a message it gives up on: the runner publishes it
// to "<topic>.dlt" (KafkaDeadLetterPublisher); tests use a fake.
#ifndef SURGE_PROJECTIONS_DEAD_LETTER_PUBLISHER_H_
#define SURGE_PROJECTIONS_DEAD_LETTER_PUBLISHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "projections/consumed_message.h"
#include "surge/v1/surge.pb.h"

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

// The v1::DeadLetter row recording that `message` was dead-lettered at
// `where` (id "<dlt topic>/<partition>/<offset>"), for rm_dead_letters.
inline v1::DeadLetter DeadLetterRow(const ConsumedMessage& message, const DeliveryFailure& failure,
                                    const DeadLetterCoordinates& where) {
  v1::DeadLetter row;
  row.set_id(absl::StrCat(where.topic, "/", where.partition, "/", where.offset));
  row.set_original_topic(message.topic);
  row.set_original_partition(message.partition);
  row.set_original_offset(message.offset);
  row.set_key(message.key);
  row.set_value(message.value);
  row.set_error(failure.error);
  row.set_attempts(failure.attempts);
  row.set_first_failure_unix_ms(failure.first_failure_unix_ms);
  return row;
}

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_DEAD_LETTER_PUBLISHER_H_
