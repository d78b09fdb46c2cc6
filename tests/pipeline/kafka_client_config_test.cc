// --kafka_config_file end to end (kafka/client_config.h): a bad file stops
// surge-server before it writes anything, and a good file's settings reach
// every Kafka client the server makes, seen in librdkafka's own dump of
// each client's configuration (debug=conf, one block per client, named
// after the client's client.id). And two single nodes on one broker
// without --cluster: the projections stop deciding and say why.
//
// TLS and SASL against a broker that requires them cannot be run here: the
// dev broker (librdkafka's mock) speaks plain TCP without SASL handlers.
// These tests cover everything up to the connection.
#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/pipeline/kafka_test_client.h"
#include "tests/pipeline/pipeline_test_util.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

constexpr char kSecret[] = "S3cr3t-never-logged-42";

class DevBroker {
 public:
  ~DevBroker() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }

  absl::StatusOr<std::string> Start(const std::string& bootstrap_file, int partitions) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string file = absl::StrCat("--bootstrap_file=", bootstrap_file);
      const std::string parts = absl::StrCat("--partitions=", partitions);
      ::execl(SURGE_KAFKA_DEV_BIN, SURGE_KAFKA_DEV_BIN, file.c_str(), parts.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::string bootstrap;
    const bool ready = Eventually(
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

std::string WriteFile(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.Path(name);
  std::ofstream(path) << text;
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Runs surge-server with `file` against `brokers` and expects it to refuse
// to start: non-zero exit, `expected` in its output, the secret nowhere,
// and no data dir.
void ExpectRefused(const std::string& brokers, const std::string& file,
                   const std::string& expected) {
  TempDir dir;
  const std::string data = dir.Path("data");
  std::vector<std::string> flags = {absl::StrCat("--data_dir=", data), "--grpc_addr=127.0.0.1:0",
                                    "--metrics_addr=127.0.0.1:0",
                                    absl::StrCat("--kafka_config_file=", file)};
  if (!brokers.empty()) flags.push_back(absl::StrCat("--kafka_brokers=", brokers));
  absl::StatusOr<ServerProcess::Exit> exit = ServerProcess::RunToExit(flags, absl::Seconds(30));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_NE(exit->exit_code, 0) << exit->log;
  EXPECT_TRUE(absl::StrContains(exit->log, expected)) << exit->log;
  EXPECT_FALSE(absl::StrContains(exit->log, kSecret)) << exit->log;
  EXPECT_FALSE(Exists(data)) << "the server wrote to its data dir; log:\n" << exit->log;
}

TEST(KafkaClientConfigTest, BadFileStopsTheServerBeforeItWritesAnything) {
  TempDir files;
  // Nothing listens there: the file is refused before any connection.
  const std::string brokers = "127.0.0.1:1";
  const std::string secret = absl::StrCat("sasl.password=", kSecret, "\n");
  ExpectRefused(brokers, WriteFile(files, "unknown", secret + "no.such.key=1\n"), "no.such.key");
  ExpectRefused(brokers, WriteFile(files, "bad", secret + "consumer.fetch.wait.max.ms=soon\n"),
                "consumer.fetch.wait.max.ms");
  ExpectRefused(brokers, WriteFile(files, "clash", secret + "acks=1\n"), "acks");
  ExpectRefused(brokers, WriteFile(files, "group", secret + "group.id=mine\n"), "group.id");
  // A client that cannot be made: librdkafka's reason, the secret scrubbed.
  ExpectRefused(brokers,
                WriteFile(files, "mechanism",
                          secret + "security.protocol=sasl_plaintext\nsasl.mechanisms=NOPE\n"),
                "cannot be made from these settings");
  ExpectRefused(brokers, files.Path("missing"), "cannot read the Kafka client config file");
  // The embedded broker takes no settings.
  ExpectRefused("", WriteFile(files, "embedded", "client.rack=a\n"), "needs --kafka_brokers");
}

// Client name (librdkafka's "<client.id>#<role>-<n>") -> its configuration
// dump, from the debug=conf blocks in a server log.
std::map<std::string, std::string> ClientDumps(const std::string& log) {
  std::map<std::string, std::string> dumps;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    // %7|<time>|CONF|<name>| [thrd:app]:   key = value
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits('|', 4));
    if (parts.size() < 5 || parts[2] != "CONF") continue;
    absl::StrAppend(&dumps[std::string(parts[3])], parts[4], "\n");
  }
  return dumps;
}

// The settings every client of the server must show.
constexpr char kProbeFile[] =
    "# every client\n"
    "client.rack=probe-rack\n"
    "debug=conf\n"
    "consumer.fetch.error.backoff.ms=77\n"
    "producer.retry.backoff.ms=77\n";

void ExpectEveryClientConfigured(const std::string& log, const std::vector<std::string>& expected) {
  const std::map<std::string, std::string> dumps = ClientDumps(log);
  std::set<std::string> seen;
  for (const auto& [name, dump] : dumps) {
    if (!absl::StrContains(dump, "Client configuration:")) continue;
    const bool producer = absl::StrContains(name, "#producer-");
    seen.insert(name);
    EXPECT_TRUE(absl::StrContains(dump, "client.rack = probe-rack")) << name << ":\n" << dump;
    EXPECT_TRUE(absl::StrContains(dump, "sasl.password = [redacted]")) << name << ":\n" << dump;
    if (producer) {
      EXPECT_TRUE(absl::StrContains(dump, "retry.backoff.ms = 77")) << name << ":\n" << dump;
      EXPECT_FALSE(absl::StrContains(dump, "fetch.error.backoff.ms = 77")) << name;
    } else {
      EXPECT_TRUE(absl::StrContains(dump, "fetch.error.backoff.ms = 77")) << name << ":\n" << dump;
    }
  }
  for (const std::string& prefix : expected) {
    bool found = false;
    for (const std::string& name : seen) found = found || absl::StartsWith(name, prefix);
    EXPECT_TRUE(found) << "no client " << prefix
                       << "* dumped its configuration; clients seen: " << absl::StrJoin(seen, ", ");
  }
  EXPECT_FALSE(absl::StrContains(log, kSecret)) << "the secret reached the log";
}

TEST(KafkaClientConfigTest, SettingsReachEveryClientOfASingleNode) {
  TempDir dir;
  DevBroker broker;
  absl::StatusOr<std::string> bootstrap = broker.Start(dir.Path("bootstrap"), 2);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  const std::string file =
      WriteFile(dir, "kafka.properties", absl::StrCat(kProbeFile, "sasl.password=", kSecret, "\n"));
  auto server = ServerProcess::Start(
      {.flags = {absl::StrCat("--kafka_brokers=", *bootstrap), "--kafka_partitions=2",
                 absl::StrCat("--kafka_config_file=", file)}});
  ASSERT_TRUE(server.ok()) << server.status();
  PipelineClient client(**server);
  client.AdjustStock("sku-cfg", 3);
  auto placed = client.PlaceOrder("cfg-1", "user-cfg", {{"sku-cfg", 1}});
  ASSERT_TRUE(placed.ok()) << placed.status();
  auto order = client.SettledOrder(placed->order_id());
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ(order->status(), v1::ORDER_STATUS_CONFIRMED) << (*server)->LogTail();

  // The dead-letter producer is made at the first dead letter: a message
  // that is not an event.
  ASSERT_TRUE(ProduceOne(*bootstrap, "surge.coupons", "POISON", "not an event").ok());
  auto dead_letter_producer = [&] {
    for (const auto& [name, dump] : ClientDumps(ReadFile((*server)->log_path()))) {
      if (absl::StartsWith(name, "rdkafka#producer-")) return true;
    }
    return false;
  };
  EXPECT_TRUE(Eventually(dead_letter_producer, absl::Seconds(30)))
      << "no dead-letter producer; log:\n"
      << (*server)->LogTail();

  const std::string log = ReadFile((*server)->log_path());
  // The topic check's client, the relay, the three projections' consumers
  // and the dead-letter producer (librdkafka's default client.id).
  ExpectEveryClientConfigured(log, {"surge-topic-check#producer-", "surge-relay#producer-",
                                    "rdkafka#consumer-", "rdkafka#producer-"});
  int consumers = 0;
  for (const auto& [name, dump] : ClientDumps(log)) {
    if (absl::StrContains(dump, "Client configuration:") && absl::StrContains(name, "#consumer-")) {
      ++consumers;
    }
  }
  EXPECT_EQ(consumers, 3);
  EXPECT_TRUE(absl::StrContains(log, "sasl.password=[redacted]")) << "startup summary";
}

TEST(KafkaClientConfigTest, SettingsReachEveryClientOfAClusterNode) {
  TempDir dir;
  DevBroker broker;
  absl::StatusOr<std::string> bootstrap = broker.Start(dir.Path("bootstrap"), 2);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  const std::string file =
      WriteFile(dir, "kafka.properties", absl::StrCat(kProbeFile, "sasl.password=", kSecret, "\n"));
  auto server = ServerProcess::Start(
      {.flags = {absl::StrCat("--kafka_brokers=", *bootstrap), "--kafka_partitions=2", "--cluster",
                 "--node_id=n1", "--cluster_session_timeout_ms=6000",
                 absl::StrCat("--kafka_config_file=", file)},
       .start_timeout = absl::Seconds(60)});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string log = ReadFile((*server)->log_path());
  std::vector<std::string> expected = {"surge-topic-check#producer-", "surge-relay#producer-",
                                       "surge-n1-view#consumer-", "surge-n1-members#producer-",
                                       "surge-n1-members-in#consumer-"};
  for (const char* decider : {"stock", "order-saga", "coupons"}) {
    expected.push_back(absl::StrCat("surge-n1-decider-", decider, "#consumer-"));
    expected.push_back(absl::StrCat("surge-n1-restore-", decider, "#consumer-"));
    expected.push_back(absl::StrCat("surge-n1-changelog-", decider, "#producer-"));
  }
  ExpectEveryClientConfigured(log, expected);
}

TEST(KafkaClientConfigTest, TwoSingleNodesOnOneBrokerStopDecidingAndNameCluster) {
  TempDir dir;
  DevBroker broker;
  absl::StatusOr<std::string> bootstrap = broker.Start(dir.Path("bootstrap"), 2);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  const std::vector<std::string> flags = {absl::StrCat("--kafka_brokers=", *bootstrap),
                                          "--kafka_partitions=2"};
  auto first = ServerProcess::Start({.flags = flags});
  ASSERT_TRUE(first.ok()) << first.status();
  PipelineClient a(**first);
  a.AdjustStock("sku-two", 5);
  auto placed_a = a.PlaceOrder("two-a", "user-a", {{"sku-two", 1}});
  ASSERT_TRUE(placed_a.ok()) << placed_a.status();
  auto order_a = a.SettledOrder(placed_a->order_id());
  ASSERT_TRUE(order_a.ok()) << order_a.status();
  EXPECT_EQ(order_a->status(), v1::ORDER_STATUS_CONFIRMED);

  // The same default --node_id, another data dir, the same topics.
  auto second = ServerProcess::Start({.flags = flags});
  if (!second.ok()) {
    // B read one of A's events before it served (A's last offset commit
    // had not landed): refused before serving, which is as good.
    EXPECT_TRUE(absl::StrContains(second.status().message(), "without --cluster"))
        << second.status();
    std::cerr << "the second node stopped before it served\n";
    return;
  }
  PipelineClient b(**second);
  // B's stock request reaches A's projections (and A's reach B's once B
  // reads them): each stops at the other's first event.
  v1::AdjustStockRequest adjust;
  adjust.set_request_id("two-b-adjust");
  adjust.set_sku("sku-two");
  adjust.set_delta(5);
  v1::AdjustStockResponse adjusted;
  ASSERT_TRUE((*second)->Inventory()->AdjustStock(Deadline().get(), adjust, &adjusted).ok());

  // And one more on A after B started, which B's projections read.
  a.AdjustStock("sku-two", 1);

  for (ServerProcess* node : {first->get(), second->get()}) {
    const bool said = Eventually(
        [&] {
          const std::string log = ReadFile(node->log_path());
          return absl::StrContains(log, "two nodes share these topics without --cluster");
        },
        absl::Seconds(30));
    EXPECT_TRUE(said) << "no ERROR naming --cluster; log:\n" << node->LogTail();
    EXPECT_TRUE(Eventually([&] { return !node->IsServing(absl::Seconds(2)); }, absl::Seconds(10)))
        << "health still SERVING";
  }
  // Nothing of the other log was decided on A: its stock is what A itself
  // decided before B came (5 - 1), not B's +5 on top.
  auto stock = a.GetStock("sku-two");
  ASSERT_TRUE(stock.ok()) << stock.status();
  EXPECT_EQ(stock->available(), 4);
}

}  // namespace
}  // namespace surge::testing
