// Gives undecodable requests a precise status. gRPC 1.51's callback API
// answers a request whose bytes do not parse as the method's message with
// UNIMPLEMENTED and an empty message, before any surge code runs — which
// tells a client "no such method" when the truth is "bad input". This
// interceptor rewrites exactly that answer, for methods that do exist, into
// INVALID_ARGUMENT naming the expected message type. Unknown methods keep
// their UNIMPLEMENTED.
//
// Thread-safe; stateless.
#ifndef SURGE_SERVER_INTERNAL_DECODE_ERROR_INTERCEPTOR_H_
#define SURGE_SERVER_INTERNAL_DECODE_ERROR_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace surge::server::internal {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewDecodeErrorInterceptorFactory();

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_DECODE_ERROR_INTERCEPTOR_H_
