// A healthy start and a graceful stop of the real surge-server log nothing
// above INFO (issue 14: RocksDB used to log "ERROR [rocksdb] Error when
// reading <data_dir>/log dir NotFound" on every fresh data dir). Checked on a
// fresh data dir and again on a restart over the same one. Every line of the
// child's output must be one of surge's log lines at INFO (or DEBUG), so
// stray library output (an unformatted line, a blank line) fails too.
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/server_process.h"

namespace surge::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The lines of `log` that are neither the harness's "=== ServerProcess: ..."
// header nor a surge log line at INFO or DEBUG.
std::string LinesAboveInfo(const std::string& log) {
  static const std::regex kQuietLine(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|DEBUG) \[[^\]]+\] .*)");
  std::string bad;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StartsWith(line, "=== ServerProcess: ")) continue;
    if (std::regex_match(line.begin(), line.end(), kQuietLine)) continue;
    absl::StrAppend(&bad, "  [", line, "]\n");
  }
  // The split leaves one empty piece after the final newline.
  const std::string kTrailing = "  []\n";
  if (absl::EndsWith(bad, kTrailing) && absl::EndsWith(log, "\n")) {
    bad.resize(bad.size() - kTrailing.size());
  }
  return bad;
}

TEST(CleanStartLogTest, FreshStartAndRestartLogNothingAboveInfo) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start({});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<int> code = (*server)->Terminate();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*server)->LogTail();

  const std::string fresh = ReadFile((*server)->log_path());
  // A whole start and stop on an empty log was seen.
  EXPECT_TRUE(absl::StrContains(fresh, "at head position 0")) << fresh;
  EXPECT_TRUE(absl::StrContains(fresh, "INFO [app] stopped")) << fresh;
  EXPECT_EQ(LinesAboveInfo(fresh), "") << "fresh data dir; the whole log:\n" << fresh;

  ASSERT_TRUE((*server)->Restart().ok()) << (*server)->LogTail();
  code = (*server)->Terminate();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*server)->LogTail();

  const std::string both = ReadFile((*server)->log_path());
  ASSERT_TRUE(absl::StartsWith(both, fresh));
  const std::string restart = both.substr(fresh.size());
  EXPECT_TRUE(absl::StrContains(restart, "INFO [app] stopped")) << restart;
  EXPECT_EQ(LinesAboveInfo(restart), "") << "restart on the same data dir; its log:\n" << restart;
}

}  // namespace
}  // namespace surge::testing
