#include "server/internal/subscribe_reactor.h"

#include <thread>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "common/thread_name.h"
#include "server/status_mapping.h"

namespace surge::server::internal {
namespace {
// How long one Next() blocks; Cancel() interrupts it, so this only bounds
// how stale a stop flag can get if a store ignored Cancel.
constexpr absl::Duration kNextTimeout = absl::Seconds(1);
}  // namespace

void SubscribeReactor::Start(std::unique_ptr<eventstore::Subscription> subscription) {
  {
    absl::MutexLock lock(&mu_);
    subscription_ = std::move(subscription);
    // Stopped or cancelled before the pump existed: let it end at once.
    if (stopped_ || cancelled_) subscription_->Cancel();
  }
  // Detached: the thread's last act is Finish(), after which gRPC owns (and
  // deletes) this reactor; nothing else needs to join it.
  std::thread([this] {
    SetCurrentThreadName("surge-subscribe");
    Pump();
  }).detach();
}

void SubscribeReactor::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (subscription_ != nullptr) subscription_->Cancel();
}

void SubscribeReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  if (subscription_ != nullptr) subscription_->Cancel();
}

void SubscribeReactor::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      // The stream broke (client gone): stop pulling.
      cancelled_ = true;
      if (subscription_ != nullptr) subscription_->Cancel();
    }
    if (!ClaimWriteLocked()) return;
  }
  StartWrite(&current_, current_options_);
}

bool SubscribeReactor::ClaimWriteLocked() {
  if (writing_ || cancelled_ || stopped_ || buffered_.empty()) return false;
  current_ = std::move(buffered_.front());
  buffered_.pop_front();
  // More events are queued behind this one, and their writes follow from
  // OnWriteDone at once: let gRPC coalesce them into one send instead of a
  // sendmsg per event. The last event of a burst goes without the hint,
  // which flushes everything before it (so does Finish).
  //
  // Never on the stream's first write: it also carries the initial
  // metadata, and gRPC never completes a corked batch of initial metadata
  // and message (grpc/grpc#12975, #34231): the stream hung with nothing
  // sent whenever its first write found more events behind it (seen when a
  // filtered stream's first matches arrived together).
  current_options_ = grpc::WriteOptions();
  if (!buffered_.empty() && started_writing_) current_options_.set_buffer_hint();
  started_writing_ = true;
  writing_ = true;
  return true;
}

void SubscribeReactor::OnDone() { delete this; }

void SubscribeReactor::Pump() {
  eventstore::Subscription* subscription;
  {
    absl::MutexLock lock(&mu_);
    subscription = subscription_.get();
  }
  grpc::Status status = grpc::Status::OK;
  while (true) {
    size_t room = 0;
    {
      absl::MutexLock lock(&mu_);
      // Pull again once the client has taken half of what is buffered.
      auto wanted = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return buffered_.size() <= kBuffered / 2 || cancelled_ || stopped_;
      };
      mu_.Await(absl::Condition(&wanted));
      if (cancelled_ || stopped_) break;
      room = kBuffered - buffered_.size();
    }
    // Next() is only ever called here; Cancel() from other threads is safe.
    absl::StatusOr<std::vector<v1::Event>> batch = subscription->Next(room, kNextTimeout);
    if (!batch.ok()) {
      status = ToGrpcStatus(batch.status());
      break;
    }
    bool start = false;
    {
      absl::MutexLock lock(&mu_);
      for (v1::Event& event : *batch) {
        if (filter_.Matches(event)) buffered_.push_back(std::move(event));
      }
      start = ClaimWriteLocked();
    }
    if (start) StartWrite(&current_, current_options_);
  }

  bool stopped = false;
  {
    absl::MutexLock lock(&mu_);
    // Finish must not overtake a write: gRPC answers every started write
    // with OnWriteDone (ok=false once the call is cancelled), and a write
    // claimed by OnWriteDone is started just after it drops mu_, so waiting
    // for !writing_ also covers that window. Events already pulled still
    // go out (OnWriteDone chains them) unless the call is gone or the
    // server is stopping.
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !writing_ && (buffered_.empty() || stopped_ || cancelled_);
    };
    mu_.Await(absl::Condition(&idle));
    stopped = stopped_;
    subscription_.reset();  // the last use of the store by this stream
  }
  if (stopped) {
    status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down");
  } else if (status.error_code() == grpc::StatusCode::CANCELLED) {
    // Cancelled by the store closing, or by the client (then unseen anyway).
    status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "event store closed");
  }
  SubscriptionRegistry& registry = registry_;
  registry.Remove(this);
  Finish(status);
}

}  // namespace surge::server::internal
