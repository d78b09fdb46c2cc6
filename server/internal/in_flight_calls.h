// Counts the gRPC calls in progress, so shutdown can wait for exactly those
// instead of a fixed grace period: gRPC's own Shutdown(deadline) also waits
// for idle client connections to close, which clients that are not polling
// never do before the deadline.
//
// The count is kept by a server interceptor: gRPC creates one per call and
// destroys it when the call is over.
//
// Thread-safe.
#ifndef SURGE_SERVER_INTERNAL_IN_FLIGHT_CALLS_H_
#define SURGE_SERVER_INTERNAL_IN_FLIGHT_CALLS_H_

#include <grpcpp/support/server_interceptor.h>

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge::server::internal {

class InFlightCalls {
 public:
  // A factory for ServerBuilder::experimental().SetInterceptorCreators; it
  // borrows this object, which must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // True once no call is in progress; false at the deadline.
  bool WaitUntilIdle(absl::Time deadline) const;
  int64_t count() const;

  void Begin();
  void End();

 private:
  mutable absl::Mutex mu_;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_IN_FLIGHT_CALLS_H_
