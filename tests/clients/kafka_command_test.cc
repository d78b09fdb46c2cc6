// surge-cli kafka topics: every topic surge uses, with its settings and the
// commands to create them (no server, no broker).
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "clients/cli/surge_cli.h"
#include "gtest/gtest.h"

namespace surge::cli {
namespace {

TEST(KafkaCommandTest, PrintsEveryTopicWithItsSettingsAndCreateCommands) {
  std::ostringstream out, err;
  const int code = RunCli({"kafka", "topics", "--partitions", "12", "--bootstrap", "b1:9093",
                           "--command-config", "admin.properties"},
                          out, err);
  ASSERT_EQ(code, 0) << err.str();
  const std::string text = out.str();
  int creates = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "kafka-topics.sh")) continue;
    ++creates;
    EXPECT_TRUE(absl::StrContains(line,
                                  "--bootstrap-server b1:9093 --command-config "
                                  "admin.properties --create"))
        << line;
    EXPECT_TRUE(absl::StrContains(line, "--replication-factor 3")) << line;
    EXPECT_TRUE(absl::StrContains(line, "--config min.insync.replicas=2")) << line;
    EXPECT_TRUE(absl::StrContains(line, "--config cleanup.policy=delete")) << line;
    EXPECT_TRUE(absl::StrContains(line, "--config unclean.leader.election.enable=false")) << line;
  }
  // Three event topics, their .dlt and .changelog, and surge.cluster.
  EXPECT_EQ(creates, 10) << text;
  for (const char* topic : {"surge.orders", "surge.stock", "surge.coupons"}) {
    EXPECT_TRUE(absl::StrContains(text, absl::StrCat("--topic ", topic, " --partitions 12 ")))
        << topic;
    EXPECT_TRUE(
        absl::StrContains(text, absl::StrCat("--topic ", topic,
                                             ".changelog --partitions 12 --replication-factor 3 "
                                             "--config min.insync.replicas=2 --config "
                                             "cleanup.policy=delete --config retention.ms=-1 "
                                             "--config retention.bytes=67108864 ")))
        << topic;
    EXPECT_TRUE(absl::StrContains(text, absl::StrCat("--topic ", topic, ".dlt "))) << topic;
  }
  EXPECT_TRUE(absl::StrContains(text, "--topic surge.cluster --partitions 1 ")) << text;
  // Each topic says why.
  EXPECT_TRUE(absl::StrContains(text, "partitions: 12: --kafka_partitions (12)")) << text;
  EXPECT_TRUE(absl::StrContains(text, "retention.ms: unlimited (-1)")) << text;
}

TEST(KafkaCommandTest, WarnsBelowThreeReplicasAndRefusesBadCounts) {
  std::ostringstream out, err;
  ASSERT_EQ(RunCli({"kafka", "topics", "--replication-factor", "1"}, out, err), 0) << err.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "WARNING: with a replication factor below 3"));
  EXPECT_TRUE(absl::StrContains(out.str(), "min.insync.replicas=1"));
  std::ostringstream out2, err2;
  EXPECT_EQ(RunCli({"kafka", "topics", "--partitions", "0"}, out2, err2), 2);
  EXPECT_TRUE(absl::StrContains(err2.str(), "--partitions")) << err2.str();
}

}  // namespace
}  // namespace surge::cli
