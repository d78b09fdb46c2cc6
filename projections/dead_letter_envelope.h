// The format of a dead-letter message on "<topic>.dlt": its headers and its
// value, a JSON envelope that carries the original bytes in base64 exactly:
//
//   {"topic":"surge.coupons","partition":2,"offset":17,"key_b64":"U1BSSU5H",
//    "value_b64":"...","error":"INVALID_ARGUMENT: ...","attempts":1,
//    "first_failure_unix_ms":1764320000000}
//
// Pure functions: thread-safe.
#ifndef SURGE_PROJECTIONS_DEAD_LETTER_ENVELOPE_H_
#define SURGE_PROJECTIONS_DEAD_LETTER_ENVELOPE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "projections/consumed_message.h"
#include "projections/dead_letter_publisher.h"

namespace surge::projections {

// Headers of every dead-letter message (values are text, numbers decimal).
inline constexpr char kDltOriginalTopicHeader[] = "surge-dlt-original-topic";
inline constexpr char kDltOriginalPartitionHeader[] = "surge-dlt-original-partition";
inline constexpr char kDltOriginalOffsetHeader[] = "surge-dlt-original-offset";
inline constexpr char kDltOriginalKeyHeader[] = "surge-dlt-original-key";  // raw key bytes
inline constexpr char kDltErrorHeader[] = "surge-dlt-error";
inline constexpr char kDltAttemptsHeader[] = "surge-dlt-attempts";
inline constexpr char kDltFirstFailureHeader[] = "surge-dlt-first-failure-unix-ms";

// The JSON envelope above (keys in that order, no whitespace).
std::string DeadLetterEnvelopeJson(const ConsumedMessage& message, const DeliveryFailure& failure);

// `text` as a JSON string literal, quotes included. Bytes >= 0x80 pass
// through (error texts are ASCII in practice; the payload is in base64).
std::string JsonQuote(absl::string_view text);

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_DEAD_LETTER_ENVELOPE_H_
