// Publishes dead letters to "<topic>.dlt" with an idempotent librdkafka
// producer and waits for each acknowledgement (the applier records the
// dead letter only once Kafka has it, under its DLT coordinates).
//
// The producer is created by the first Publish: dead letters are rare, and
// an idle librdkafka client still wakes its threads every second.
//
// Thread-safety: Publish is called by one thread at a time (the applier
// holds its lock). Owns its producer; destruction flushes it.
#ifndef SURGE_PROJECTIONS_INTERNAL_KAFKA_DEAD_LETTER_PUBLISHER_H_
#define SURGE_PROJECTIONS_INTERNAL_KAFKA_DEAD_LETTER_PUBLISHER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kafka/internal/holders.h"
#include "projections/dead_letter_publisher.h"

namespace surge::projections::internal {

class KafkaDeadLetterPublisher : public DeadLetterPublisher {
 public:
  // `timeout` bounds one publication (librdkafka message.timeout.ms).
  // INVALID_ARGUMENT for bad settings.
  static absl::StatusOr<std::unique_ptr<KafkaDeadLetterPublisher>> Create(
      const std::string& bootstrap_servers, const std::map<std::string, std::string>& overrides,
      absl::Duration timeout);
  ~KafkaDeadLetterPublisher() override;

  absl::StatusOr<DeadLetterCoordinates> Publish(const ConsumedMessage& message,
                                                const DeliveryFailure& failure) override;

 private:
  explicit KafkaDeadLetterPublisher(std::map<std::string, std::string> settings)
      : settings_(std::move(settings)) {}
  const std::map<std::string, std::string> settings_;  // checked by Create
  kafka::internal::ClientHandle producer_;               // null until the first Publish
};

}  // namespace surge::projections::internal

#endif  // SURGE_PROJECTIONS_INTERNAL_KAFKA_DEAD_LETTER_PUBLISHER_H_
