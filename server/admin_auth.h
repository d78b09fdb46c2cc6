// Admin authentication: admin RPCs (AdjustStock, CreateCampaign, the dead
// letter service) need "authorization: Bearer <token>" when the server is
// configured with a token. Without a token every caller is admin, which the
// App only allows on a loopback address (IsLoopbackAddress).
//
//   AdminAuth auth(token);
//   if (grpc::Status s = auth.Check(*context); !s.ok()) return Finish(s);
//
// Thread-safe: immutable after construction.
#ifndef SURGE_SERVER_ADMIN_AUTH_H_
#define SURGE_SERVER_ADMIN_AUTH_H_

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace surge::server {

class AdminAuth {
 public:
  // An empty token disables the check.
  explicit AdminAuth(std::string token) : token_(std::move(token)) {}

  bool enabled() const { return !token_.empty(); }

  // OK, or UNAUTHENTICATED (missing header, wrong scheme, wrong token).
  grpc::Status Check(const grpc::CallbackServerContext& context) const;

  // Whether `authorization` (a header value) carries the token.
  bool Accepts(absl::string_view authorization) const;

 private:
  const std::string token_;
};

// Reads a token file, trimming surrounding whitespace (a trailing newline is
// the norm). INVALID_ARGUMENT when empty, NOT_FOUND/PERMISSION_DENIED when it
// cannot be read.
absl::StatusOr<std::string> ReadAdminTokenFile(const std::string& path);

// Whether a gRPC listening address only accepts local connections:
// 127.0.0.0/8, [::1], localhost, or a unix socket.
bool IsLoopbackAddress(absl::string_view address);

// Compares without an early exit, so the time taken does not reveal how
// many leading bytes of a guess were right.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace surge::server

#endif  // SURGE_SERVER_ADMIN_AUTH_H_
