// The one adapter from librdkafka error codes to absl::Status. Every
// rd_kafka_resp_err_t that crosses a surge function boundary goes through
// here so callers can branch on canonical codes:
//
//   UNAVAILABLE        transport failure, brokers down, no leader, not enough
//                      replicas, coordinator moving: retry later.
//   DEADLINE_EXCEEDED  request or message timed out.
//   NOT_FOUND          unknown topic or partition, no committed offset.
//   OUT_OF_RANGE       offset out of range (data gone: re-relay from the log),
//                      partition EOF.
//   RESOURCE_EXHAUSTED local producer queue full, quota throttling.
//   INVALID_ARGUMENT   bad argument, invalid config, message too large, corrupt
//                      message.
//   ABORTED            rebalance in progress, fenced/illegal generation: retry
//                      the larger operation.
//   PERMISSION_DENIED / UNAUTHENTICATED   authorization / authentication.
//   CANCELLED          the handle is being destroyed.
//   UNIMPLEMENTED      unsupported by the broker or this build.
//   INTERNAL           fatal idempotence/transaction state, anything else known
//                      to be a bug; UNKNOWN for codes not listed.
//
//   SURGE_RETURN_IF_ERROR(KafkaStatus(rd_kafka_commit(rk, nullptr, 0), "commit"));
//
// The original code rides along as a payload (KafkaErrorCode) for logs and
// tests. Thread-safe.
#ifndef SURGE_KAFKA_INTERNAL_ERRORS_H_
#define SURGE_KAFKA_INTERNAL_ERRORS_H_

#include <librdkafka/rdkafka.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace surge::kafka::internal {

// The canonical code for `err` (kOk for RD_KAFKA_RESP_ERR_NO_ERROR).
absl::StatusCode KafkaErrorStatusCode(rd_kafka_resp_err_t err);

// OK for NO_ERROR; otherwise "<context>: <ERR_NAME>: <description>" with the
// code above.
absl::Status KafkaStatus(rd_kafka_resp_err_t err, absl::string_view context);

// Same for an rd_kafka_error_t (does not take ownership; nullptr is OK).
// A fatal error is INTERNAL whatever its code.
absl::Status KafkaStatus(const rd_kafka_error_t* error, absl::string_view context);

// The librdkafka code a status made by KafkaStatus carries, if any.
std::optional<rd_kafka_resp_err_t> KafkaErrorCode(const absl::Status& status);

}  // namespace surge::kafka::internal

#endif  // SURGE_KAFKA_INTERNAL_ERRORS_H_
