#include "eventstore/internal/conflict.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event_store.h"

namespace surge::eventstore::internal {
namespace {

std::string DescribeVersion(int64_t version) {
  if (version == kNoStream) return "no stream";
  if (version == kAnyVersion) return "any";
  return absl::StrCat(version);
}

}  // namespace

absl::Status ConflictError(absl::string_view stream_id, int64_t expected, int64_t current) {
  absl::Status status = absl::AbortedError(
      absl::StrCat("wrong expected version for stream '", stream_id, "': expected ",
                   DescribeVersion(expected), ", current version ", current));
  status.SetPayload(kConflictVersionTypeUrl, absl::Cord(absl::StrCat(current)));
  return status;
}

}  // namespace surge::eventstore::internal
