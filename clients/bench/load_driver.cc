#include "clients/bench/load_driver.h"

#include <algorithm>

namespace surge::bench {

bool LoadDriver::StillRunning(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return false;
  if (!measuring_ && now >= warmup_end_) {
    measuring_ = true;
    if (options_.requests <= 0) end_ = now + options_.duration;
  }
  if (measuring_) {
    if (options_.requests > 0 ? measured_started_ >= options_.requests : now >= end_) {
      stopped_ = true;
      return false;
    }
  }
  return true;
}

void LoadDriver::StartOne(const StartFn& start, absl::Time intended) {
  bool measured;
  {
    absl::MutexLock lock(&mu_);
    measured = measuring_;
    if (measured) ++measured_started_;
    ++in_flight_;
  }
  const uint64_t index = next_index_.fetch_add(1, std::memory_order_relaxed);
  start(index, measured, [this, &start, measured, intended](const grpc::Status& status) {
    Finish(measured, intended, status);
    // Closed loop: the answer frees the slot for the next call; a refused
    // one first backs off (Run serves the delayed calls).
    if (options_.rate <= 0) {
      const absl::Time now = absl::Now();
      if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
          options_.refused_backoff > absl::ZeroDuration()) {
        absl::MutexLock lock(&mu_);
        delayed_.insert(now + options_.refused_backoff);
        --in_flight_;
        return;
      }
      if (StillRunning(now)) StartOne(start, now);
    }
    absl::MutexLock lock(&mu_);
    --in_flight_;
  });
}

void LoadDriver::Finish(bool measured, absl::Time intended, const grpc::Status& status) {
  const absl::Time now = absl::Now();
  if (measured && status.ok()) {
    latency_->Record(static_cast<uint64_t>(
        std::max<int64_t>(0, absl::ToInt64Nanoseconds(now - intended))));
  }
  if (!measured) return;
  absl::MutexLock lock(&mu_);
  last_answer_ = std::max(last_answer_, now);
  if (status.ok()) {
    ++ok_;
    // Measured phase start is warmup_end_ (set before any measured call).
    const auto second = static_cast<size_t>(
        std::max<int64_t>(0, absl::ToInt64Seconds(now - warmup_end_)));
    if (ok_per_second_.size() <= second) ok_per_second_.resize(second + 1, 0);
    ++ok_per_second_[second];
  } else {
    ++errors_[static_cast<int>(status.error_code())];
  }
}

LoadResult LoadDriver::Run(const StartFn& start) {
  const absl::Time begin = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    warmup_end_ = begin + options_.warmup;
    last_answer_ = warmup_end_;
  }
  StillRunning(begin);  // enters the measured phase at once without warm-up
  if (options_.rate <= 0) {
    for (int i = 0; i < options_.concurrency && StillRunning(absl::Now()); ++i) {
      StartOne(start, absl::Now());
    }
    // Restart the slots backing off after a refusal, until none is left
    // and nothing is in flight.
    for (;;) {
      absl::Time due;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return !delayed_.empty() || in_flight_ == 0;
        };
        mu_.Await(absl::Condition(&ready));
        if (delayed_.empty()) break;
        due = *delayed_.begin();
      }
      const absl::Time now = absl::Now();
      if (due > now) absl::SleepFor(due - now);
      {
        absl::MutexLock lock(&mu_);
        delayed_.erase(delayed_.begin());
      }
      if (StillRunning(absl::Now())) StartOne(start, absl::Now());
    }
  } else {
    // Open loop: the i-th call is due at begin + i / rate, whatever happened
    // to the calls before it.
    const absl::Duration interval = absl::Seconds(1) / options_.rate;
    for (uint64_t i = 0;; ++i) {
      const absl::Time intended = begin + interval * static_cast<double>(i);
      const absl::Time now = absl::Now();
      if (intended > now) absl::SleepFor(intended - now);
      if (!StillRunning(std::max(intended, now))) break;
      {
        absl::MutexLock lock(&mu_);
        auto has_slot = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return in_flight_ < options_.concurrency;
        };
        mu_.Await(absl::Condition(&has_slot));
      }
      StartOne(start, intended);
    }
  }
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
  mu_.Await(absl::Condition(&idle));

  LoadResult result;
  result.ok = ok_;
  result.errors = errors_;
  result.measured_start = warmup_end_;
  result.last_answer = last_answer_;
  result.elapsed = last_answer_ - warmup_end_;
  result.latency_ns = latency_;
  result.ok_per_second = ok_per_second_;
  return result;
}

}  // namespace surge::bench
