#include "clients/cli/progress.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace surge::cli {

std::string RenderProgress(int64_t done, int64_t total, absl::Duration elapsed) {
  constexpr int kWidth = 20;
  const double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 1.0;
  const int filled = static_cast<int>(fraction * kWidth);
  const double secs = absl::ToDoubleSeconds(elapsed);
  const double rate = secs > 0 ? done / secs : 0.0;
  std::string eta = "--:--:--";
  if (rate > 0) {
    const int64_t left = static_cast<int64_t>((total - done) / rate + 0.5);
    eta = absl::StrFormat("%d:%02d:%02d", left / 3600, left / 60 % 60, left % 60);
  }
  return absl::StrFormat("[%s%s] %d/%d %3d%% %.1f/s ETA %s", std::string(filled, '#'),
                         std::string(kWidth - filled, '.'), done, total,
                         static_cast<int>(fraction * 100), rate, eta);
}

void ProgressBar::Start() {
  start_ = absl::Now();
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    for (;;) {
      // Wakes early when Finish() sets stop_.
      mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(200));
      if (stop_) return;
      Draw();
    }
  });
}

void ProgressBar::Finish() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  Draw();
  out_ << "\n";
  out_.flush();
}

void ProgressBar::Draw() {
  // "\r" rewrites the line on a terminal; the padding clears a longer one.
  out_ << "\r" << RenderProgress(done(), total_, absl::Now() - start_) << "   ";
  out_.flush();
}

}  // namespace surge::cli
