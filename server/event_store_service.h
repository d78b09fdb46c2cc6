// surge.v1.EventStoreService: reads of the log (ReadAll, ReadStream) and the
// live Subscribe stream (catch-up from a position, then follow), on the
// gRPC callback API.
//
// Thread-safe. Borrows the store, which must outlive it; before closing the
// store, call StopSubscriptions() and then WaitForSubscriptions().
#ifndef SURGE_SERVER_EVENT_STORE_SERVICE_H_
#define SURGE_SERVER_EVENT_STORE_SERVICE_H_

#include <cstddef>

#include "absl/time/time.h"
#include "eventstore/event_store.h"
#include "server/internal/subscription_registry.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::server {

class EventStoreService final : public v1::EventStoreService::CallbackService {
 public:
  struct Options {
    // Concurrent Subscribe streams; one more is refused with
    // RESOURCE_EXHAUSTED. Each stream holds one thread.
    size_t max_subscriptions = 64;
  };

  EventStoreService(eventstore::EventStore& store, Options options)
      : store_(store), registry_(options.max_subscriptions) {}

  grpc::ServerUnaryReactor* ReadAll(grpc::CallbackServerContext* context,
                                    const v1::ReadAllRequest* request,
                                    v1::ReadAllResponse* response) override;
  grpc::ServerUnaryReactor* ReadStream(grpc::CallbackServerContext* context,
                                       const v1::ReadStreamRequest* request,
                                       v1::ReadStreamResponse* response) override;
  grpc::ServerWriteReactor<v1::Event>* Subscribe(grpc::CallbackServerContext* context,
                                                 const v1::SubscribeRequest* request) override;

  // Ends every live stream with UNAVAILABLE and refuses new ones.
  void StopSubscriptions() { registry_.StopAll(); }
  // True once no stream uses the store any more; false at the deadline.
  bool WaitForSubscriptions(absl::Time deadline) { return registry_.WaitUntilEmpty(deadline); }
  size_t active_subscriptions() const { return registry_.active(); }

 private:
  eventstore::EventStore& store_;
  internal::SubscriptionRegistry registry_;
};

}  // namespace surge::server

#endif  // SURGE_SERVER_EVENT_STORE_SERVICE_H_
