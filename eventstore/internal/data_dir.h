// The data dir's layout and its FORMAT marker.
//
//   <dir>/FORMAT   "surge-data-format <N>\n"
//   <dir>/log/     the RocksDB database
//
// The FORMAT file lets a newer or older build refuse a dir it cannot read
// instead of misreading it, and keeps surge from adopting an unrelated
// non-empty directory by mistake.
#ifndef SURGE_EVENTSTORE_INTERNAL_DATA_DIR_H_
#define SURGE_EVENTSTORE_INTERNAL_DATA_DIR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace surge::eventstore::internal {

inline constexpr char kFormatFileName[] = "FORMAT";
inline constexpr char kFormatTag[] = "surge-data-format";
inline constexpr char kLogDirName[] = "log";

// Checks (or, for a missing or empty dir when `create_if_missing`, creates)
// the data dir at `path` for format `version`. Returns the RocksDB dir.
// FAILED_PRECONDITION: non-empty dir without FORMAT, unparsable FORMAT, or
// another version. NOT_FOUND: missing or empty dir and !create_if_missing.
// UNAVAILABLE: filesystem errors.
absl::StatusOr<std::string> PrepareDataDir(const std::string& path, bool create_if_missing,
                                           int version);

// The FORMAT file contents for `version`.
std::string FormatFileContents(int version);

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_DATA_DIR_H_
