// surge's one logging facility: leveled, timestamped lines on stderr, each
// naming the component that wrote it.
//
//   SURGE_LOG(INFO, "relay") << "resuming from position " << pos;
//
// The level is process-wide (SetLogLevel / ParseLogLevel, wired to the
// server's --log_level flag). Thread-safe: each line is written with one
// write(2) so lines from different threads never interleave.
#ifndef SURGE_COMMON_LOGGING_H_
#define SURGE_COMMON_LOGGING_H_

#include <sstream>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace surge {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
bool LogEnabled(LogLevel level);

namespace internal {
// Collects one line and writes it when destroyed.
class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view component);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};
}  // namespace internal
}  // namespace surge

#define SURGE_LOG_LEVEL_DEBUG ::surge::LogLevel::kDebug
#define SURGE_LOG_LEVEL_INFO ::surge::LogLevel::kInfo
#define SURGE_LOG_LEVEL_WARNING ::surge::LogLevel::kWarning
#define SURGE_LOG_LEVEL_ERROR ::surge::LogLevel::kError

#define SURGE_LOG(level, component)                        \
  if (!::surge::LogEnabled(SURGE_LOG_LEVEL_##level)) {     \
  } else                                                   \
    ::surge::internal::LogLine(SURGE_LOG_LEVEL_##level, component).stream()

#endif  // SURGE_COMMON_LOGGING_H_
