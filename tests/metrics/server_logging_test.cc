// The server's log at the default level: start-up configuration and
// shutdown are there, requests are not (issue 4, "Logging").
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/metrics/live_server_util.h"
#include "tests/support/server_process.h"

namespace surge::testing {
namespace {

std::vector<std::string> LogLines(const ServerProcess& server) {
  std::ifstream in(server.log_path());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ServerLoggingTest, DefaultLevelLogsNoLinePerRequest) {
  auto server = ServerProcess::Start({});
  ASSERT_TRUE(server.ok()) << server.status();
  ServerProcess& s = **server;
  const size_t lines_at_start = LogLines(s).size();

  // 200 requests: commands, settled reads, and failures (NOT_FOUND,
  // INVALID_ARGUMENT), which must not be logged one by one either.
  ASSERT_TRUE(AddStock(s, "sku-log", 1000).ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 80; ++i) {
    auto id = PlaceOrder(s, absl::StrCat("log-req-", i), "sku-log", 1);
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  for (const std::string& id : ids) ASSERT_TRUE(SettledOrder(s, id).ok()) << id;
  for (int i = 0; i < 20; ++i) {
    v1::GetOrderRequest missing;
    missing.set_order_id(absl::StrCat("log-missing-", i));
    v1::Order order;
    EXPECT_EQ(s.Orders()->GetOrder(Ctx().get(), missing, &order).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  for (int i = 0; i < 19; ++i) {
    EXPECT_EQ(PlaceOrder(s, absl::StrCat("log-bad-", i), "sku log!", 1).status().code(),
              absl::StatusCode::kInvalidArgument);
  }

  const std::vector<std::string> lines = LogLines(s);
  // A line per request would be 200 more; a few pipeline lines are fine.
  EXPECT_LT(lines.size() - lines_at_start, 20u) << s.LogTail(60);
  for (size_t i = lines_at_start; i < lines.size(); ++i) {
    EXPECT_FALSE(
        absl::StrContains(lines[i], "log-req-") || absl::StrContains(lines[i], "log-missing-") ||
        absl::StrContains(lines[i], "log-bad-") || absl::StrContains(lines[i], ids.front()))
        << "per-request line: " << lines[i];
  }

  // Start-up configuration and shutdown are logged.
  std::string all;
  for (const std::string& line : lines) absl::StrAppend(&all, line, "\n");
  EXPECT_TRUE(absl::StrContains(all, "serving surge.v1 on port")) << all;
  EXPECT_TRUE(absl::StrContains(all, "bootstrap") || absl::StrContains(all, "Kafka")) << all;
  EXPECT_TRUE(absl::StrContains(all, "metrics port")) << all;
  absl::StatusOr<int> code = s.Terminate();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  const std::vector<std::string> after = LogLines(s);
  std::string tail;
  for (size_t i = lines.size(); i < after.size(); ++i) absl::StrAppend(&tail, after[i], "\n");
  EXPECT_TRUE(absl::StrContains(tail, "shutting down")) << tail;
  EXPECT_TRUE(absl::StrContains(tail, "stopped")) << tail;
}

}  // namespace
}  // namespace surge::testing
