// A live progress line on stderr for bulk operations:
//   [##########..........]  512/1000  51%  1830.2/s  ETA 0:00:00
//
//   ProgressBar bar(std::cerr, total);
//   bar.Start();             // redraws every 200 ms from its own thread
//   bar.Add(1);              // from any worker thread
//   bar.Finish();            // final redraw and a newline
//
// Thread-safe: Add is a relaxed atomic increment (only the count matters,
// nothing is published through it); drawing happens on the bar's thread.
#ifndef SURGE_CLIENTS_CLI_PROGRESS_H_
#define SURGE_CLIENTS_CLI_PROGRESS_H_

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge::cli {

// The text of one progress line (no "\r"); exposed for tests.
std::string RenderProgress(int64_t done, int64_t total, absl::Duration elapsed);

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, int64_t total) : out_(out), total_(total) {}
  ~ProgressBar() { Finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Start();
  void Add(int64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
  int64_t done() const { return done_.load(std::memory_order_relaxed); }
  // Stops the redraw thread and prints the final line. Idempotent.
  void Finish();

 private:
  void Draw();

  std::ostream& out_;
  const int64_t total_;
  std::atomic<int64_t> done_{0};
  absl::Time start_ = absl::Now();
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace surge::cli

#endif  // SURGE_CLIENTS_CLI_PROGRESS_H_
