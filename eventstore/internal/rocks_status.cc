#include "eventstore/internal/rocks_status.h"

#include "absl/strings/str_cat.h"

namespace surge::eventstore::internal {

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat("rocksdb ", context, ": ", status.ToString());
  // NoSpace is a subcode of IOError, so it is covered by the first test;
  // a full disk is transient from the caller's point of view.
  if (status.IsIOError() || status.IsBusy() || status.IsTimedOut() || status.IsTryAgain() ||
      status.IsShutdownInProgress() || status.IsIncomplete()) {
    return absl::UnavailableError(message);
  }
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (status.IsNotSupported()) return absl::UnimplementedError(message);
  if (status.IsAborted()) return absl::AbortedError(message);
  return absl::InternalError(message);
}

}  // namespace surge::eventstore::internal
