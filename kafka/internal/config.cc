#include "kafka/internal/config.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace surge::kafka::internal {
namespace {

bool LooksSecret(absl::string_view key) {
  const std::string lower = absl::AsciiStrToLower(key);
  return absl::StrContains(lower, "password") || absl::StrContains(lower, "secret") ||
         absl::StrContains(lower, "token");
}

}  // namespace

absl::Status SetConf(rd_kafka_conf_t* conf, absl::string_view key, absl::string_view value) {
  char errstr[512] = {0};
  const std::string k(key);
  const std::string v(value);
  const rd_kafka_conf_res_t res =
      rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr));
  if (res == RD_KAFKA_CONF_OK) return absl::OkStatus();
  const std::string shown = LooksSecret(key) ? "<redacted>" : absl::StrCat("\"", value, "\"");
  if (res == RD_KAFKA_CONF_UNKNOWN) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown librdkafka config key \"", key, "\": ", errstr));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value ", shown, " for librdkafka config key \"", key, "\": ", errstr));
}

absl::StatusOr<ConfHandle> MakeConf(const std::map<std::string, std::string>& settings) {
  ConfHandle conf(rd_kafka_conf_new());
  for (const auto& [key, value] : settings) {
    absl::Status status = SetConf(conf.get(), key, value);
    if (!status.ok()) return status;
  }
  return conf;
}

absl::StatusOr<ClientHandle> NewClient(rd_kafka_type_t type, ConfHandle conf) {
  char errstr[512] = {0};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot create Kafka ", type == RD_KAFKA_PRODUCER ? "producer" : "consumer", ": ", errstr));
  }
  conf.release();  // owned by rk now
  return ClientHandle(rk);
}

}  // namespace surge::kafka::internal
