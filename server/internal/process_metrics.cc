#include "server/internal/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace surge::server::internal {
namespace {

// Seconds since the epoch at boot (/proc/stat "btime").
std::optional<double> BootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double btime = 0;
      in >> btime;
      return btime;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProcessStats> ReadProcessStats() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may hold spaces: fields follow the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string v; fields >> v;) f.push_back(v);
  // f[0] is field 3 (state): utime 14 -> f[11], stime 15 -> f[12],
  // num_threads 20 -> f[17], starttime 22 -> f[19], vsize 23 -> f[20],
  // rss 24 -> f[21] (pages).
  if (f.size() < 22) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  ProcessStats stats;
  stats.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  stats.threads = std::stod(f[17]);
  stats.virtual_bytes = std::stod(f[20]);
  stats.resident_bytes = std::stod(f[21]) * page;
  if (std::optional<double> boot = BootTime()) {
    stats.start_time_seconds = *boot + std::stod(f[19]) / ticks;
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    double n = 0;
    while (readdir(dir) != nullptr) ++n;
    closedir(dir);
    stats.open_fds = n - 3;  // ".", ".." and the directory's own fd
  }
  return stats;
}

void RegisterProcessMetrics(metrics::Metrics& metrics) {
  using metrics::Metrics;
  using Samples = std::vector<metrics::Sample>;
  auto field = [](double ProcessStats::*member) {
    return [member] {
      const std::optional<ProcessStats> stats = ReadProcessStats();
      return stats ? Samples{{{}, (*stats).*member}} : Samples{};
    };
  };
  metrics.RegisterCallback("process_cpu_seconds_total", "User and system CPU time spent.",
                           Metrics::Kind::kCounter, field(&ProcessStats::cpu_seconds));
  metrics.RegisterCallback("process_resident_memory_bytes", "Resident memory size in bytes.",
                           Metrics::Kind::kGauge, field(&ProcessStats::resident_bytes));
  metrics.RegisterCallback("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                           Metrics::Kind::kGauge, field(&ProcessStats::virtual_bytes));
  metrics.RegisterCallback("process_start_time_seconds",
                           "Start time of the process since the Unix epoch, in seconds.",
                           Metrics::Kind::kGauge, field(&ProcessStats::start_time_seconds));
  metrics.RegisterCallback("process_threads", "Threads of the process.", Metrics::Kind::kGauge,
                           field(&ProcessStats::threads));
  metrics.RegisterCallback("process_open_fds", "Open file descriptors.", Metrics::Kind::kGauge,
                           field(&ProcessStats::open_fds));
}

}  // namespace surge::server::internal
