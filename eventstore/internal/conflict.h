// The version-conflict error of Append: ABORTED with the stream's current
// version attached as a status payload, so callers read it with
// ConflictVersion() instead of parsing the message.
#ifndef SURGE_EVENTSTORE_INTERNAL_CONFLICT_H_
#define SURGE_EVENTSTORE_INTERNAL_CONFLICT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace surge::eventstore::internal {

// Payload type URL; the payload is the current version in decimal.
inline constexpr char kConflictVersionTypeUrl[] = "surge/conflict-version";

absl::Status ConflictError(absl::string_view stream_id, int64_t expected, int64_t current);

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_CONFLICT_H_
