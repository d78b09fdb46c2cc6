// The one place where absl::Status becomes grpc::Status. The canonical codes
// are numerically identical in both libraries; this keeps the mapping
// explicit (and the message intact) so every handler answers alike.
#ifndef SURGE_SERVER_STATUS_MAPPING_H_
#define SURGE_SERVER_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace surge::server {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace surge::server

#endif  // SURGE_SERVER_STATUS_MAPPING_H_
