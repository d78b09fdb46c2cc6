#include "server/internal/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace surge::server::internal {

absl::Status Admission::Admit(absl::Time now) {
  // The watermark first: the answers to everything at or below it are then
  // at or below the head read after it (round targets must not be early).
  const uint64_t decided = decided_();
  const uint64_t head = std::max(head_(), decided);
  absl::MutexLock lock(&mu_);
  if (decided != last_decided_) {
    last_decided_ = decided;
    decided_moved_ = now;
  }
  auto& first = rounds_.front();
  if (head > decided) {
    if (first.empty() || head > first.back().first) {
      if (!first.empty() && now - first.back().second < kCoalesce) {
        first.back().first = head;  // the entry's time is at most kCoalesce late for it
      } else {
        first.emplace_back(head, now);
        if (first.size() > kMaxEntries) first.pop_front();
      }
    }
  }
  // Rounds whose target the watermark passed move on, with the head of now
  // as their next target (their answers are at or below it).
  for (size_t r = 0; r < rounds_.size(); ++r) {
    auto& round = rounds_[r];
    while (!round.empty() && round.front().first <= decided) {
      const absl::Time since = round.front().second;
      round.pop_front();
      if (r + 1 == rounds_.size()) continue;  // decided
      auto& next = rounds_[r + 1];
      if (!next.empty() && next.back().first >= head) continue;  // an older entry covers it
      next.emplace_back(head, since);
      if (next.size() > kMaxEntries) next.pop_front();
    }
  }
  absl::Time oldest = absl::InfiniteFuture();
  for (const auto& round : rounds_) {
    if (!round.empty()) oldest = std::min(oldest, round.front().second);
  }
  last_delay_ = oldest == absl::InfiniteFuture() ? absl::ZeroDuration() : now - oldest;

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
        "decision delay: the oldest undecided command has waited ",
        absl::ToInt64Milliseconds(last_delay_), " ms (", head - decided,
        " events undecided; limit ", absl::ToInt64Milliseconds(options_.max_delay),
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
