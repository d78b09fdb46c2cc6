#include "server/internal/admission.h"

#include "absl/strings/str_cat.h"

namespace surge::server::internal {

absl::Status Admission::Admit(absl::Time now) {
  const uint64_t head = head_();
  const uint64_t decided = decided_();
  absl::MutexLock lock(&mu_);
  if (decided != last_decided_) {
    last_decided_ = decided;
    decided_moved_ = now;
  }
  if (head > decided) {
    if (seen_.empty() || head > seen_.back().first) {
      if (!seen_.empty() && now - seen_.back().second < kCoalesce) {
        seen_.back().first = head;  // the entry's time is at most kCoalesce late for it
      } else {
        seen_.emplace_back(head, now);
        if (seen_.size() > kMaxEntries) seen_.pop_front();
      }
    }
  }
  while (!seen_.empty() && seen_.front().first <= decided) seen_.pop_front();
  last_delay_ = seen_.empty() ? absl::ZeroDuration() : now - seen_.front().second;

  if (options_.max_lag_events > 0 && head > decided + options_.max_lag_events) {
    ++rejected_;
    return absl::ResourceExhaustedError(absl::StrCat(
        "decision backlog: ", head - decided, " events accepted but not decided yet (limit ",
        options_.max_lag_events, ", --max_decision_lag); retry with backoff"));
  }
  if (options_.max_delay > absl::ZeroDuration() && last_delay_ > options_.max_delay &&
      head > decided + options_.delay_min_lag_events &&
      now - decided_moved_ <= options_.delay_progress_window) {
    ++rejected_;
    return absl::ResourceExhaustedError(absl::StrCat(
        "decision delay: the oldest of ", head - decided,
        " undecided events has waited ", absl::ToInt64Milliseconds(last_delay_), " ms (limit ",
        absl::ToInt64Milliseconds(options_.max_delay),
        " ms, --max_decision_delay_ms); retry with backoff"));
  }
  return absl::OkStatus();
}

uint64_t Admission::rejected() const {
  absl::MutexLock lock(&mu_);
  return rejected_;
}

absl::Duration Admission::last_delay() const {
  absl::MutexLock lock(&mu_);
  return last_delay_;
}

}  // namespace surge::server::internal
