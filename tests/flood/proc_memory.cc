#include "tests/flood/proc_memory.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace surge::testing {
namespace {

constexpr absl::Duration kSampleInterval = absl::Milliseconds(5);

// "VmRSS:\t  123456 kB" -> 123456.
bool ParseKib(absl::string_view line, absl::string_view field, int64_t* out) {
  if (!absl::ConsumePrefix(&line, field)) return false;
  line = absl::StripAsciiWhitespace(line);
  if (!absl::ConsumeSuffix(&line, "kB")) return false;
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(line), out);
}

}  // namespace

absl::StatusOr<ProcMemory> ReadProcMemory(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return absl::NotFoundError(absl::StrCat("no /proc/", pid, "/status"));
  ProcMemory memory;
  bool rss = false;
  bool hwm = false;
  for (std::string line; std::getline(in, line);) {
    rss = rss || ParseKib(line, "VmRSS:", &memory.rss_kib);
    hwm = hwm || ParseKib(line, "VmHWM:", &memory.hwm_kib);
  }
  // A zombie has no Vm* lines.
  if (!rss || !hwm) return absl::NotFoundError(absl::StrCat("process ", pid, " has no memory"));
  return memory;
}

absl::Status ResetPeakRss(pid_t pid) {
  std::ofstream out(absl::StrCat("/proc/", pid, "/clear_refs"));
  if (!out) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open /proc/", pid, "/clear_refs: ", std::strerror(errno)));
  }
  out << "5";
  out.close();
  if (!out) return absl::UnavailableError("the kernel refused to reset VmHWM");
  return absl::OkStatus();
}

MemorySampler::MemorySampler(pid_t pid) : pid_(pid) {
  figures_.hwm_reset = ResetPeakRss(pid_).ok();
  absl::StatusOr<ProcMemory> now = ReadProcMemory(pid_);
  figures_.before_kib = now.ok() ? now->rss_kib : 0;
  sampled_peak_kib_ = figures_.before_kib;
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(kSampleInterval)) {
      absl::StatusOr<ProcMemory> sample = ReadProcMemory(pid_);
      if (!sample.ok()) continue;
      absl::MutexLock lock(&mu_);
      sampled_peak_kib_ = std::max(sampled_peak_kib_, sample->rss_kib);
    }
  });
}

MemorySampler::~MemorySampler() {
  if (!stopped_) Stop();
}

MemoryFigures MemorySampler::Stop() {
  stopped_ = true;
  stop_.Notify();
  thread_.join();
  absl::StatusOr<ProcMemory> now = ReadProcMemory(pid_);
  int64_t peak;
  {
    absl::MutexLock lock(&mu_);
    peak = sampled_peak_kib_;
  }
  if (now.ok()) {
    figures_.after_kib = now->rss_kib;
    peak = std::max(peak, now->rss_kib);
    if (figures_.hwm_reset) peak = std::max(peak, now->hwm_kib);
  }
  figures_.peak_kib = peak;
  return figures_;
}

}  // namespace surge::testing
