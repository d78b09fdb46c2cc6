#include "kafka/internal/config.h"

#include "gtest/gtest.h"

namespace surge::kafka::internal {
namespace {

std::string Get(rd_kafka_conf_t* conf, const char* key) {
  char value[512];
  size_t size = sizeof(value);
  if (rd_kafka_conf_get(conf, key, value, &size) != RD_KAFKA_CONF_OK) return "<unset>";
  return value;
}

TEST(ConfigTest, AppliesEverySetting) {
  absl::StatusOr<ConfHandle> conf =
      MakeConf({{"bootstrap.servers", "127.0.0.1:1"}, {"enable.idempotence", "true"}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(Get(conf->get(), "bootstrap.servers"), "127.0.0.1:1");
  EXPECT_EQ(Get(conf->get(), "enable.idempotence"), "true");
}

TEST(ConfigTest, UnknownKeyIsInvalidArgumentNamingTheKey) {
  absl::StatusOr<ConfHandle> conf = MakeConf({{"no.such.key", "1"}});
  ASSERT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(conf.status().message().find("no.such.key"), absl::string_view::npos);
}

TEST(ConfigTest, InvalidValueIsInvalidArgumentNamingTheKey) {
  absl::StatusOr<ConfHandle> conf = MakeConf({{"acks", "banana"}});
  ASSERT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(conf.status().message().find("acks"), absl::string_view::npos);
}

TEST(ConfigTest, InvalidValueOfPlainKeyIsQuoted) {
  absl::Status status = SetConf(ConfHandle(rd_kafka_conf_new()).get(), "socket.timeout.ms", "soon");
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("\"soon\""), absl::string_view::npos) << status;
}

TEST(ConfigTest, NewClientCreatesProducer) {
  absl::StatusOr<ConfHandle> conf = MakeConf({{"bootstrap.servers", "127.0.0.1:1"}});
  ASSERT_TRUE(conf.ok());
  absl::StatusOr<ClientHandle> rk = NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(rk.ok()) << rk.status();
  EXPECT_NE(rk->get(), nullptr);
}

TEST(ConfigTest, NewClientRejectsConflictingConfig) {
  absl::StatusOr<ConfHandle> conf = MakeConf({{"enable.idempotence", "true"}, {"acks", "1"}});
  ASSERT_TRUE(conf.ok());
  absl::StatusOr<ClientHandle> rk = NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  EXPECT_EQ(rk.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace surge::kafka::internal
