// The external-cluster path: surge-server --kafka_brokers=<a separate broker
// process> runs the very same relay and consumers, and kcat reads the topics.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/pipeline/kafka_test_client.h"
#include "tests/pipeline/pipeline_test_util.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

// surge-kafka-dev as a child process, stopped by PID.
class DevBroker {
 public:
  ~DevBroker() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }

  absl::StatusOr<std::string> Start(const std::string& bootstrap_file) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string flag = absl::StrCat("--bootstrap_file=", bootstrap_file);
      ::execl(SURGE_KAFKA_DEV_BIN, SURGE_KAFKA_DEV_BIN, flag.c_str(), "--partitions=6",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::string bootstrap;
    bool ready = Eventually(
        [&] {
          std::ifstream in(bootstrap_file);
          return static_cast<bool>(std::getline(in, bootstrap)) && !bootstrap.empty();
        },
        absl::Seconds(20));
    if (!ready) return absl::DeadlineExceededError("surge-kafka-dev wrote no bootstrap file");
    return bootstrap;
  }

 private:
  pid_t pid_ = -1;
};

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

TEST(ExternalBrokerTest, ServerUsesExternalBrokerAndKcatReadsTheTopics) {
  TempDir dir;
  DevBroker broker;
  auto bootstrap = broker.Start(dir.Path("bootstrap"));
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();

  auto started = ServerProcess::Start({.flags = {absl::StrCat("--kafka_brokers=", *bootstrap)}});
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<ServerProcess> server = *std::move(started);
  PipelineClient client(*server);
  client.AdjustStock("sku-ext", 5);
  auto placed = client.PlaceOrder("ext-1", "user-ext", {{"sku-ext", 2}});
  ASSERT_TRUE(placed.ok()) << placed.status();
  auto order = client.SettledOrder(placed->order_id());
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->status(), v1::ORDER_STATUS_CONFIRMED) << server->LogTail();

  // The server did not start a broker of its own.
  EXPECT_FALSE(ReadBootstrapFile(server->data_dir()).ok());

  // kcat sees the order's events with surge's headers.
  if (std::system("command -v kcat >/dev/null 2>&1") != 0) GTEST_SKIP() << "kcat not installed";
  const std::string out = RunCommand(absl::StrCat("kcat -b ", *bootstrap,
                                           " -C -t surge.orders -o beginning -e -q "
                                           "-f '%k %h\\n' 2>&1"));
  EXPECT_TRUE(absl::StrContains(out, placed->order_id())) << out;
  EXPECT_TRUE(absl::StrContains(out, "surge-event-type=order_placed")) << out;
  EXPECT_TRUE(absl::StrContains(out, "surge-event-type=order_confirmed")) << out;
}

TEST(ExternalBrokerTest, RefusesToStartWhenTopicPartitionsDisagree) {
  TempDir dir;
  DevBroker broker;
  auto bootstrap = broker.Start(dir.Path("bootstrap"));
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  auto exit = ServerProcess::RunToExit(
      {absl::StrCat("--kafka_brokers=", *bootstrap), "--kafka_partitions=4",
       absl::StrCat("--data_dir=", dir.Path("data")), "--grpc_addr=127.0.0.1:0",
       "--metrics_addr=127.0.0.1:0"},
      absl::Seconds(60));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_NE(exit->exit_code, 0) << exit->log;
  EXPECT_TRUE(absl::StrContains(exit->log, "has 6 partitions but --kafka_partitions is 4"))
      << exit->log;
}

}  // namespace
}  // namespace surge::testing
