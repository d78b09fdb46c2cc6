// Measures settle latency: from a command's acceptance (its reply received)
// to its decision being in the log, seen on one live EventStoreService.Subscribe
// stream. One stream costs the server one call however many commands are in
// flight, unlike a GetOrder(wait_for_settlement_ms) per command.
//
// Decisions are keyed "o:<order id>" (OrderConfirmed / OrderCancelled) and
// "c:<request id>" (CouponIssued / CouponRejected). A decision seen before its
// command's reply (the saga can beat the reply home) settles at latency 0.
//
// The stream asks only for the decisions and the commands' own events
// (OrderPlaced, CouponRequested): two events per command, not the six an
// order writes. Their recorded_at gives a second figure on the server's
// clock, from the command's commit to its decision's commit, which the
// client's own delays (reading replies and the stream on a busy machine)
// do not inflate.
//
// Thread-safety: Accepted() and the readers may be called from any thread;
// the stream's callbacks run on gRPC threads. Owns the stream; Stop() before
// destruction.
#ifndef SURGE_CLIENTS_BENCH_SETTLE_TRACKER_H_
#define SURGE_CLIENTS_BENCH_SETTLE_TRACKER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clients/bench/histogram.h"
#include "grpcpp/grpcpp.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::bench {

// The settle key of a decision event, nullopt for other events.
std::optional<std::string> DecisionKey(const v1::Event& event);
// The settle key of a command's own event (OrderPlaced, CouponRequested),
// nullopt for other events.
std::optional<std::string> CommandKey(const v1::Event& event);

class SettleTracker : public grpc::ClientReadReactor<v1::Event> {
 public:
  SettleTracker() = default;
  ~SettleTracker() override;

  // Opens the stream from `from_position` (catch-up, then live).
  void Start(v1::EventStoreService::Stub* stub, uint64_t from_position);
  // Records that the command with settle key `key` was accepted at `at`.
  // Only `measured` commands count in the histogram.
  void Accepted(const std::string& key, absl::Time at, bool measured);
  // Blocks until every accepted command is decided, the stream ends, or the
  // deadline passes. True when all are decided.
  bool WaitAllDecided(absl::Time deadline);
  // Cancels the stream and waits for it to finish.
  void Stop();

  const LatencyHistogram& latency_ns() const { return latency_ns_; }
  // Measured commands, on the server's clock: the decision's recorded_at
  // minus the command event's (both commits to the log).
  const LatencyHistogram& server_latency_ns() const { return server_latency_ns_; }
  uint64_t undecided() const;
  // Last decision seen minus last acceptance: how long the pipeline needed to
  // drain once the load stopped (negative when it kept up).
  absl::Duration drain() const;
  // The stream's final status when it ended before Stop() (e.g. UNIMPLEMENTED).
  std::optional<grpc::Status> stream_error() const;
  // When each measured command's decision was seen, in the order seen (a
  // decision that beat its reply counts at its own time).
  std::vector<absl::Time> measured_decision_times() const;
  // When every decision event (measured, warm-up or other) was first seen.
  std::vector<absl::Time> decision_times() const;

  // grpc::ClientReadReactor
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  struct Entry {
    std::optional<absl::Time> accepted;
    std::optional<absl::Time> decided;
    // recorded_at of the command's event and of its decision (server clock).
    std::optional<absl::Time> committed;
    std::optional<absl::Time> decision_committed;
    bool measured = false;
  };
  void SettleLocked(const std::string& key, Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::ClientContext context_;
  v1::SubscribeRequest request_;
  v1::Event event_;  // the read buffer, touched only by the reactor
  LatencyHistogram latency_ns_;
  LatencyHistogram server_latency_ns_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> measured_decided_at_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> decided_at_ ABSL_GUARDED_BY(mu_);
  uint64_t undecided_ ABSL_GUARDED_BY(mu_) = 0;  // accepted, not yet decided
  absl::Time last_accepted_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_decided_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::bench

#endif  // SURGE_CLIENTS_BENCH_SETTLE_TRACKER_H_
