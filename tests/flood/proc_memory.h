// Resident memory of a process as Linux reports it in /proc/<pid>/status, and
// a sampler that records the peak while a flood runs.
//
//   MemorySampler sampler(server->pid());   // resets the peak, starts sampling
//   ...flood...
//   MemoryFigures figures = sampler.Stop(); // before / peak / after, in KiB
//
// The peak is the larger of the kernel's VmHWM (reset through
// /proc/<pid>/clear_refs when permitted, so it covers only the sampled
// span) and the highest VmRSS seen by a 5 ms polling thread: VmHWM catches
// spikes between two samples, the samples cover kernels that refuse the reset.
//
// Thread-safety: MemorySampler is driven by one thread; its polling thread
// only touches the guarded peak.
#ifndef SURGE_TESTS_FLOOD_PROC_MEMORY_H_
#define SURGE_TESTS_FLOOD_PROC_MEMORY_H_

#include <sys/types.h>

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace surge::testing {

struct ProcMemory {
  int64_t rss_kib = 0;  // VmRSS: resident now
  int64_t hwm_kib = 0;  // VmHWM: peak resident since start or the last reset
};

// NOT_FOUND when the process is gone; INTERNAL when the fields are missing.
absl::StatusOr<ProcMemory> ReadProcMemory(pid_t pid);

// Resets VmHWM to the current VmRSS ("5" > /proc/<pid>/clear_refs).
// PERMISSION_DENIED/UNAVAILABLE when the kernel refuses.
absl::Status ResetPeakRss(pid_t pid);

struct MemoryFigures {
  int64_t before_kib = 0;  // VmRSS when sampling started
  int64_t peak_kib = 0;    // highest resident during the span
  int64_t after_kib = 0;   // VmRSS when sampling stopped
  bool hwm_reset = false;  // whether VmHWM covers only the span
  int64_t growth_kib() const { return peak_kib - before_kib; }
};

class MemorySampler {
 public:
  explicit MemorySampler(pid_t pid);
  ~MemorySampler();
  MemorySampler(const MemorySampler&) = delete;
  MemorySampler& operator=(const MemorySampler&) = delete;

  // Stops the polling thread and returns the figures. Call once.
  MemoryFigures Stop();

 private:
  const pid_t pid_;
  MemoryFigures figures_;
  absl::Mutex mu_;
  int64_t sampled_peak_kib_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification stop_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_FLOOD_PROC_MEMORY_H_
