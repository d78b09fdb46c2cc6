#include "server/internal/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace surge::server::internal {

std::pair<uint64_t, uint64_t> Admission::Read() const {
  const uint64_t decided = decided_();
  const uint64_t head = head_();
  return {head, decided};
}

absl::Status Admission::Admit(absl::Time now) {
  const auto [head, decided] = Read();
  absl::MutexLock lock(&mu_);
  const Figures f = UpdateLocked(head, decided, now);
  if (options_.max_lag_events > 0 && f.backlog_events > options_.max_lag_events) {
    ++rejected_;
    return absl::ResourceExhaustedError(absl::StrCat(
        "decision backlog: ", f.backlog_events, " events accepted but not decided yet (limit ",
        options_.max_lag_events, ", --max_decision_lag); retry with backoff"));
  }
  if (!f.deciding || options_.max_delay <= absl::ZeroDuration()) return absl::OkStatus();
  // Waits count from the end of warm-up: the consumers' joining time is not
  // how fast this node decides.
  const absl::Duration waited = std::min(f.delay, now - *deciding_since_);
  if (waited > options_.max_delay) {
    ++rejected_;
    return absl::ResourceExhaustedError(
        absl::StrCat("decision delay: the oldest undecided command has waited ",
                     absl::ToInt64Milliseconds(waited), " ms (", f.backlog_events,
                     " events undecided; limit ", absl::ToInt64Milliseconds(options_.max_delay),
                     " ms, --max_decision_delay_ms); retry with backoff"));
  }
  // A new command is decided once the watermark has passed the backlog
  // rounds times over: in steady state the head grows by what is decided,
  // so each round finds about the same backlog again (a burst's last round
  // holds only its answers: an upper bound then).
  if (samples_taken_ < kMinSamples || waited < options_.max_delay / 3) {
    return absl::OkStatus();
  }
  const double drain_seconds =
      static_cast<double>(rounds_.size()) * static_cast<double>(f.backlog_events) / f.rate;
  const absl::Duration forecast_limit = options_.max_delay * options_.forecast_share;
  if (drain_seconds > absl::ToDoubleSeconds(forecast_limit)) {
    ++rejected_;
    return absl::ResourceExhaustedError(absl::StrFormat(
        "decision delay: %d events undecided would take %d ms to decide (%d rounds at the "
        "measured %.0f events/s), the oldest has waited %d ms (limit %d ms: %.0f%% of "
        "--max_decision_delay_ms %d ms); retry with backoff",
        f.backlog_events, static_cast<int64_t>(1000.0 * drain_seconds), rounds_.size(), f.rate,
        absl::ToInt64Milliseconds(waited), absl::ToInt64Milliseconds(forecast_limit),
        100.0 * options_.forecast_share, absl::ToInt64Milliseconds(options_.max_delay)));
  }
  return absl::OkStatus();
}

Admission::Figures Admission::Observe(absl::Time now) {
  const auto [head, decided] = Read();
  absl::MutexLock lock(&mu_);
  return UpdateLocked(head, decided, now);
}

Admission::Figures Admission::UpdateLocked(uint64_t head, uint64_t decided, absl::Time now) {
  if (!observed_) {
    observed_ = true;
    start_decided_ = decided;
    last_decided_ = decided;
    last_head_ = std::max(head, decided);
    last_seen_ = now;
  }
  // Concurrent callers may apply their readings out of order: neither
  // figure goes back.
  decided = std::max(decided, last_decided_);
  head = std::max({head, last_head_, decided});
  const bool was_deciding = deciding_since_.has_value();
  if (!was_deciding && decided > start_decided_) deciding_since_ = now;
  if (was_deciding) {
    MeasureRateLocked(head - decided, decided, now);
  }
  last_head_ = head;
  last_decided_ = decided;
  last_seen_ = std::max(last_seen_, now);
  TrackRoundsLocked(head, decided, now);

  absl::Time oldest = absl::InfiniteFuture();
  for (const auto& round : rounds_) {
    if (!round.empty()) oldest = std::min(oldest, round.front().second);
  }
  return Figures{.backlog_events = head - decided,
                 .delay = oldest == absl::InfiniteFuture()
                              ? absl::ZeroDuration()
                              : std::max(now - oldest, absl::ZeroDuration()),
                 .rate = rate_,
                 .deciding = deciding_since_.has_value()};
}

// A sample is the events decided over rate_sample of busy time: intervals
// between two observations that both saw a backlog, during which the
// backlog never fell below rate_min_queued of work at the sample's rate.
// So it measures what the node can decide rather than what was offered to
// it: at a light load the pipeline waits for work and the events it
// decides per second are just the arrival rate. When the backlog falls
// below that, the sample starts again from there (a burst's first moments,
// a drain's last ones). A sample goes on until kMinSampleEvents were
// decided: a pause and the jump after it are averaged, not taken as a
// burst of speed, and a trickle of a few events (the pipeline ramping up
// after a start) is not taken for the node's rate.
void Admission::MeasureRateLocked(uint64_t backlog, uint64_t decided, absl::Time now) {
  const uint64_t previous_backlog = last_head_ - last_decided_;
  if (previous_backlog == 0 || backlog == 0) {
    sample_busy_ = absl::ZeroDuration();
    sample_decided_ = 0;
    return;
  }
  if (sample_busy_ == absl::ZeroDuration() && sample_decided_ == 0) {
    sample_min_backlog_ = previous_backlog;
  }
  sample_busy_ += std::max(now - last_seen_, absl::ZeroDuration());
  sample_decided_ += decided - last_decided_;
  sample_min_backlog_ = std::min(sample_min_backlog_, backlog);
  // The work queued at the sample's rate: min_backlog / (decided / busy).
  if (static_cast<double>(sample_min_backlog_) * absl::ToDoubleSeconds(sample_busy_) <
      static_cast<double>(sample_decided_) * absl::ToDoubleSeconds(options_.rate_min_queued)) {
    // The pipeline may have waited for work: start again from here.
    sample_busy_ = absl::ZeroDuration();
    sample_decided_ = 0;
    sample_min_backlog_ = backlog;
    return;
  }
  if (sample_busy_ < options_.rate_sample || sample_decided_ < kMinSampleEvents) return;
  ++samples_taken_;
  samples_.emplace_back(sample_decided_, sample_busy_);
  while (samples_.size() > std::max<size_t>(1, options_.rate_history)) samples_.pop_front();
  uint64_t decided_sum = 0;
  absl::Duration busy_sum;
  for (const auto& [d, busy] : samples_) {
    decided_sum += d;
    busy_sum += busy;
  }
  rate_ = static_cast<double>(decided_sum) / absl::ToDoubleSeconds(busy_sum);
  sample_busy_ = absl::ZeroDuration();
  sample_decided_ = 0;
}

void Admission::TrackRoundsLocked(uint64_t head, uint64_t decided, absl::Time now) {
  auto& first = rounds_.front();
  if (head > decided && (first.empty() || head > first.back().first)) {
    if (!first.empty() && now - first.back().second < kCoalesce) {
      first.back().first = head;  // the entry's time is at most kCoalesce late for it
    } else {
      first.emplace_back(head, now);
      if (first.size() > kMaxEntries) first.pop_front();
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
}

uint64_t Admission::rejected() const {
  absl::MutexLock lock(&mu_);
  return rejected_;
}

}  // namespace surge::server::internal
