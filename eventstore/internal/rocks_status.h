// The one adapter from rocksdb::Status to absl::Status. Every RocksDB call
// in the event store goes through it, so the canonical codes are chosen in
// one place:
//   IOError, NoSpace, Busy, TimedOut, TryAgain, ShutdownInProgress -> UNAVAILABLE
//   Corruption                                                   -> DATA_LOSS
//   NotFound                                                     -> NOT_FOUND
//   InvalidArgument                                              -> INVALID_ARGUMENT
//   NotSupported                                                 -> UNIMPLEMENTED
//   Aborted                                                      -> ABORTED
//   anything else                                                -> INTERNAL
#ifndef SURGE_EVENTSTORE_INTERNAL_ROCKS_STATUS_H_
#define SURGE_EVENTSTORE_INTERNAL_ROCKS_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace surge::eventstore::internal {

// `context` names the operation ("write batch", "open /data/log"); it
// prefixes the message.
absl::Status FromRocks(const rocksdb::Status& status, absl::string_view context);

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_ROCKS_STATUS_H_
