#include "kafka/client_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace surge::kafka {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kSecret[] = "Tr0ub4dor&3-very-secret";

absl::StatusOr<ClientConfig> Parse(const std::string& text,
                                   const std::string& brokers = "10.0.0.1:9093") {
  return ParseClientConfig(text, "kafka.properties", {.bootstrap_servers = brokers});
}

TEST(ClientConfigTest, PlainKeysReachTheRolesThatReadThemAndPrefixesWin) {
  absl::StatusOr<ClientConfig> config = Parse(
      "# a comment\n"
      "\n"
      "client.rack = eu-west-1a\n"
      "linger.ms=3\n"              // producer only
      "fetch.min.bytes=10\n"       // consumer only
      "socket.timeout.ms=30000\n"  // both
      "producer.socket.timeout.ms=40000\n"
      "consumer.client.rack=eu-west-1b\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->producer,
              UnorderedElementsAre(Pair("client.rack", "eu-west-1a"), Pair("linger.ms", "3"),
                                   Pair("socket.timeout.ms", "40000")));
  EXPECT_THAT(config->consumer,
              UnorderedElementsAre(Pair("client.rack", "eu-west-1b"), Pair("fetch.min.bytes", "10"),
                                   Pair("socket.timeout.ms", "30000")));
}

TEST(ClientConfigTest, EmptyFileIsEmptyConfig) {
  absl::StatusOr<ClientConfig> config = Parse("\n# nothing\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->empty());
}

TEST(ClientConfigTest, RequiredSettingWithAnotherValueIsRefusedNamingTheKey) {
  absl::StatusOr<ClientConfig> config = Parse("client.rack=a\nacks=1\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("kafka.properties:2: acks"));
  EXPECT_THAT(config.status().message(), HasSubstr("acks=all"));

  // Under a prefix and through an alias too.
  config = Parse("producer.request.required.acks=0\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("producer.request.required.acks"));
  config = Parse("consumer.enable.auto.commit=true\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("consumer.enable.auto.commit"));
  for (const char* line : {"group.id=mine", "partition.assignment.strategy=range",
                           "enable.idempotence=true", "session.timeout.ms=10000", "max.in.flight=5",
                           "isolation.level=read_committed\ngroup.id=x"}) {
    EXPECT_FALSE(Parse(line).ok()) << line;
  }
}

TEST(ClientConfigTest, RequiredSettingRepeatedWithSurgesValueIsAccepted) {
  absl::StatusOr<ClientConfig> config =
      Parse("acks=all\nbootstrap.servers=10.0.0.1:9093\nclient.id=team-a\n");
  ASSERT_TRUE(config.ok()) << config.status();
  // Not passed on: surge sets them anyway.
  EXPECT_THAT(config->producer, UnorderedElementsAre(Pair("client.id", "team-a")));
  config = Parse("bootstrap.servers=10.9.9.9:9093\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("bootstrap.servers"));
  EXPECT_THAT(config.status().message(), HasSubstr("--kafka_brokers"));
}

TEST(ClientConfigTest, UnknownKeyIsNamed) {
  absl::StatusOr<ClientConfig> config =
      Parse("client.rack=a\nsasl.mechanisms=PLAIN\nno.such.key=1\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("kafka.properties:3: no.such.key"));
  EXPECT_THAT(config.status().message(), HasSubstr("unknown"));
}

TEST(ClientConfigTest, BadValueIsNamed) {
  absl::StatusOr<ClientConfig> config = Parse("socket.timeout.ms=banana\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("kafka.properties:1: socket.timeout.ms"));
  EXPECT_THAT(config.status().message(), HasSubstr("banana"));
  config = Parse("consumer.fetch.wait.max.ms=-5\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("consumer.fetch.wait.max.ms"));
  config = Parse("security.protocol=carrier_pigeon\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("security.protocol"));
}

TEST(ClientConfigTest, RoleKeyUnderTheOtherPrefixIsRefused) {
  absl::StatusOr<ClientConfig> config = Parse("consumer.linger.ms=5\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("consumer.linger.ms"));
  EXPECT_THAT(config.status().message(), HasSubstr("producer setting"));
}

TEST(ClientConfigTest, MalformedLinesAndDuplicatesAreRefusedWithoutEchoingThem) {
  absl::StatusOr<ClientConfig> config = Parse(absl::StrCat("client.rack=a\n", kSecret, "\n"));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("kafka.properties:2"));
  EXPECT_THAT(config.status().message(), Not(HasSubstr(kSecret)));
  config = Parse("client.rack=a\nclient.rack=b\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("client.rack is set twice"));
}

TEST(ClientConfigTest, ClientThatCannotBeMadeIsRefused) {
  // rd_kafka_conf_set takes the path; the client fails to load it.
  absl::StatusOr<ClientConfig> config =
      Parse("security.protocol=ssl\nssl.ca.location=/nonexistent/ca.pem\n");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("ssl.ca.location"));
}

TEST(ClientConfigTest, TlsAndScramSettingsValidateUpToTheConnection) {
  absl::StatusOr<ClientConfig> config =
      Parse(absl::StrCat("security.protocol=SASL_SSL\n"
                         "sasl.mechanisms=SCRAM-SHA-512\n"
                         "sasl.username=surge\n"
                         "sasl.password=",
                         kSecret,
                         "\n"
                         "ssl.endpoint.identification.algorithm=https\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->producer.at("sasl.password"), kSecret);
  EXPECT_EQ(config->consumer.at("sasl.mechanisms"), "SCRAM-SHA-512");
  const std::string summary = config->Summary();
  EXPECT_THAT(summary, HasSubstr("sasl.password=[redacted]"));
  EXPECT_THAT(summary, HasSubstr("sasl.username=surge"));
  EXPECT_THAT(summary, Not(HasSubstr(kSecret)));
}

TEST(ClientConfigTest, SecretNeverAppearsInAnError) {
  // A bad value of a secret key, a refused key next to a secret, a client
  // that cannot be made with a secret in its settings.
  for (const std::string& text :
       {absl::StrCat("ssl.key.password=", kSecret,
                     "\nssl.key.location=/nonexistent/key.pem\n"
                     "security.protocol=ssl\n"),
        absl::StrCat("sasl.password=", kSecret, "\nacks=", kSecret, "\n"),
        absl::StrCat("sasl.oauthbearer.config=", kSecret, "\nsasl.mechanisms=", kSecret,
                     "\nsecurity.protocol=sasl_plaintext\n"),
        absl::StrCat("sasl.password=", kSecret, "\nsocket.timeout.ms=", kSecret, "\n")}) {
    absl::StatusOr<ClientConfig> config = Parse(text);
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.status().ToString(), Not(HasSubstr(kSecret))) << config.status();
  }
}

TEST(ClientConfigTest, SecretKeys) {
  for (const char* key : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
                          "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
                          "ssl.key.pem", "ssl_key", "producer.sasl.password"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
    EXPECT_EQ(ShownValue(key, "x"), "[redacted]");
  }
  for (const char* key : {"sasl.username", "ssl.ca.location", "client.rack"}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
    EXPECT_EQ(ShownValue(key, "x"), "x");
  }
}

TEST(ClientConfigTest, UnreadableFileIsNamed) {
  absl::StatusOr<ClientConfig> config = LoadClientConfig("/nonexistent/kafka.properties", {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/kafka.properties"));

  if (geteuid() != 0) {  // root reads anything
    char path[] = "/tmp/surge-client-config-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    chmod(path, 0);
    config = LoadClientConfig(path, {});
    EXPECT_EQ(config.status().code(), absl::StatusCode::kPermissionDenied) << config.status();
    std::remove(path);
  }
}

TEST(ClientConfigTest, LoadsAFile) {
  char path[] = "/tmp/surge-client-config-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "client.id=team-a\nconsumer.fetch.max.bytes=1048576\n";
  absl::StatusOr<ClientConfig> config = LoadClientConfig(path, {});
  std::remove(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->producer.at("client.id"), "team-a");
  EXPECT_EQ(config->consumer.at("fetch.max.bytes"), "1048576");
  EXPECT_FALSE(config->producer.contains("fetch.max.bytes"));
}

TEST(ClientConfigTest, RefusedKeysSayWhy) {
  for (const auto& [key, why] : RefusedKeys()) EXPECT_FALSE(why.empty()) << key;
  EXPECT_TRUE(RefusedKeys().contains("group.id"));
  EXPECT_TRUE(RefusedKeys().contains("request.required.acks"));
}

}  // namespace
}  // namespace surge::kafka
