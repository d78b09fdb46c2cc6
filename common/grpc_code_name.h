// Canonical names of gRPC status codes ("OK", "INVALID_ARGUMENT", ...) for
// CLI output, reports and metric labels, without a gRPC dependency: gRPC's
// codes 0-16 are numbered as absl::StatusCode's.
#ifndef SURGE_COMMON_GRPC_CODE_NAME_H_
#define SURGE_COMMON_GRPC_CODE_NAME_H_

#include <string>

#include "absl/strings/str_cat.h"

namespace surge {

// The name of `code`, nullptr outside 0-16.
inline const char* GrpcCodeNameOrNull(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : nullptr;
}

// The name of `code`, "CODE_<n>" outside 0-16.
inline std::string GrpcCodeName(int code) {
  const char* name = GrpcCodeNameOrNull(code);
  return name != nullptr ? name : absl::StrCat("CODE_", code);
}

}  // namespace surge

#endif  // SURGE_COMMON_GRPC_CODE_NAME_H_
