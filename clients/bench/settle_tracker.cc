#include "clients/bench/settle_tracker.h"

#include <algorithm>

namespace surge::bench {

std::optional<std::string> DecisionKey(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kOrderConfirmed:
      return "o:" + event.order_confirmed().order_id();
    case v1::Event::kOrderCancelled:
      return "o:" + event.order_cancelled().order_id();
    case v1::Event::kCouponIssued:
      return "c:" + event.coupon_issued().request_id();
    case v1::Event::kCouponRejected:
      return "c:" + event.coupon_rejected().request_id();
    default:
      return std::nullopt;
  }
}

std::optional<std::string> CommandKey(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kOrderPlaced:
      return "o:" + event.order_placed().order_id();
    case v1::Event::kCouponRequested:
      return "c:" + event.coupon_requested().request_id();
    default:
      return std::nullopt;
  }
}

namespace {
absl::Time RecordedAt(const v1::Event& event) {
  return absl::FromUnixSeconds(event.recorded_at().seconds()) +
         absl::Nanoseconds(event.recorded_at().nanos());
}
}  // namespace

SettleTracker::~SettleTracker() { Stop(); }

void SettleTracker::Start(v1::EventStoreService::Stub* stub, uint64_t from_position) {
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  request_.set_from_position(from_position);
  for (const char* type : {"order_placed", "coupon_requested", "order_confirmed", "order_cancelled",
                           "coupon_issued", "coupon_rejected"}) {
    request_.add_event_types(type);
  }
  stub->async()->Subscribe(&context_, &request_, this);
  StartRead(&event_);
  StartCall();
}

void SettleTracker::SettleLocked(const std::string& key, Entry& entry) {
  if (!entry.accepted || !entry.decided) return;
  if (entry.measured) {
    measured_decided_at_.push_back(*entry.decided);
    latency_ns_.Record(static_cast<uint64_t>(
        std::max<int64_t>(0, absl::ToInt64Nanoseconds(*entry.decided - *entry.accepted))));
    if (entry.committed.has_value() && entry.decision_committed.has_value()) {
      server_latency_ns_.Record(static_cast<uint64_t>(std::max<int64_t>(
          0, absl::ToInt64Nanoseconds(*entry.decision_committed - *entry.committed))));
    }
  }
  --undecided_;
  entries_.erase(key);
}

void SettleTracker::Accepted(const std::string& key, absl::Time at, bool measured) {
  absl::MutexLock lock(&mu_);
  last_accepted_ = std::max(last_accepted_, at);
  Entry& entry = entries_[key];
  if (entry.accepted) return;  // a duplicate reply settles once
  entry.accepted = at;
  entry.measured = measured;
  ++undecided_;
  SettleLocked(key, entry);
}

void SettleTracker::OnReadDone(bool ok) {
  if (!ok) return;  // the stream is over; OnDone follows
  const absl::Time now = absl::Now();
  if (auto key = CommandKey(event_)) {
    // Before its decision on the stream (positions are in order).
    absl::MutexLock lock(&mu_);
    Entry& entry = entries_[*key];
    if (!entry.committed) entry.committed = RecordedAt(event_);
  } else if (auto key = DecisionKey(event_)) {
    absl::MutexLock lock(&mu_);
    last_decided_ = std::max(last_decided_, now);
    Entry& entry = entries_[*key];
    if (!entry.decided) {
      entry.decided = now;
      entry.decision_committed = RecordedAt(event_);
      decided_at_.push_back(now);
      SettleLocked(*key, entry);
    }
  }
  StartRead(&event_);
}

void SettleTracker::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  done_ = true;
  if (!stopping_) error_ = status;
}

bool SettleTracker::WaitAllDecided(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto settled_or_over = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return undecided_ == 0 || done_;
  };
  mu_.AwaitWithDeadline(absl::Condition(&settled_or_over), deadline);
  return undecided_ == 0;
}

void SettleTracker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || done_) return;
    stopping_ = true;
  }
  context_.TryCancel();
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return done_; };
  mu_.Await(absl::Condition(&done));
}

uint64_t SettleTracker::undecided() const {
  absl::MutexLock lock(&mu_);
  return undecided_;
}

absl::Duration SettleTracker::drain() const {
  absl::MutexLock lock(&mu_);
  if (last_decided_ == absl::InfinitePast() || last_accepted_ == absl::InfinitePast()) {
    return absl::ZeroDuration();
  }
  return last_decided_ - last_accepted_;
}

std::vector<absl::Time> SettleTracker::measured_decision_times() const {
  absl::MutexLock lock(&mu_);
  return measured_decided_at_;
}

std::vector<absl::Time> SettleTracker::decision_times() const {
  absl::MutexLock lock(&mu_);
  return decided_at_;
}

std::optional<grpc::Status> SettleTracker::stream_error() const {
  absl::MutexLock lock(&mu_);
  return error_;
}

}  // namespace surge::bench
