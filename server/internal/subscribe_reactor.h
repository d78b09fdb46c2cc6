// One Subscribe stream: feeds events from an EventStore subscription
// (catch-up, then live) to a gRPC server-streaming call, one write in flight
// at a time (gRPC's rule), at most kBuffered events pulled ahead of the
// client, so a slow client slows its own pump, not the server.
//
// The pull-based Subscription blocks, so each stream owns one pump thread
// (their number is capped by the SubscriptionRegistry). The pump only fills
// the buffer; the next write starts from OnWriteDone on gRPC's thread, so a
// stream of many events costs no thread hand-off per event. Lifetime: created by
// the service, deleted by gRPC's OnDone. The pump thread releases the store
// subscription and unregisters before calling Finish, and touches nothing of
// the reactor after it, so the store can close once the registry is empty.
#ifndef SURGE_SERVER_INTERNAL_SUBSCRIBE_REACTOR_H_
#define SURGE_SERVER_INTERNAL_SUBSCRIBE_REACTOR_H_

#include <grpcpp/support/server_callback.h>

#include <deque>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"
#include "server/internal/event_type_filter.h"
#include "server/internal/subscription_registry.h"
#include "surge/v1/events.pb.h"

namespace surge::server::internal {

class SubscribeReactor final : public grpc::ServerWriteReactor<v1::Event> {
 public:
  // Only events `filter` matches are written; the others are read and
  // skipped.
  SubscribeReactor(SubscriptionRegistry& registry, EventTypeFilter filter)
      : registry_(registry), filter_(std::move(filter)) {}

  // Starts the pump over `subscription`. Call once, after the registry
  // accepted this reactor (TryAdd).
  void Start(std::unique_ptr<eventstore::Subscription> subscription);

  // Ends the stream with UNAVAILABLE (server shutting down). Thread-safe.
  void Stop();

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Events pulled from the store and not yet handed to gRPC.
  static constexpr size_t kBuffered = 256;

  void Pump();
  // When no write is in flight and an event is buffered, moves it into
  // current_ and marks the write started; the caller then calls StartWrite
  // (outside mu_: gRPC may run reactions inline). False: nothing to start.
  bool ClaimWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  SubscriptionRegistry& registry_;
  const EventTypeFilter filter_;
  absl::Mutex mu_;
  std::unique_ptr<eventstore::Subscription> subscription_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::Event> buffered_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool started_writing_ ABSL_GUARDED_BY(mu_) = false;  // the first write went out
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;  // client went away
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;    // server shutting down
  // The write in flight and its options. Written only by the thread that
  // claimed the write (ClaimWriteLocked) and read by gRPC until OnWriteDone.
  v1::Event current_;
  grpc::WriteOptions current_options_;
};

// Answers a Subscribe call at once with `status` (e.g. RESOURCE_EXHAUSTED).
class RejectedStream final : public grpc::ServerWriteReactor<v1::Event> {
 public:
  explicit RejectedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_SUBSCRIBE_REACTOR_H_
