// Builds librdkafka configurations and clients from plain key/value maps, so
// Options structs can pass raw librdkafka keys through untouched.
//
//   SURGE_ASSIGN_OR_RETURN(ConfHandle conf, MakeConf({{"bootstrap.servers", servers},
//                                                     {"enable.idempotence", "true"}}));
//   SURGE_ASSIGN_OR_RETURN(ClientHandle rk, NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
//
// Thread-safe (no shared state).
#ifndef SURGE_KAFKA_INTERNAL_CONFIG_H_
#define SURGE_KAFKA_INTERNAL_CONFIG_H_

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kafka/internal/holders.h"

namespace surge::kafka::internal {

// Sets one property. INVALID_ARGUMENT naming the key (and librdkafka's
// reason) for an unknown key or an invalid value. Values of keys that look
// secret (password, secret, token) are never echoed in the message.
absl::Status SetConf(rd_kafka_conf_t* conf, absl::string_view key, absl::string_view value);

// A fresh configuration with every entry of `settings` applied, in key
// order. Later callers may still SetConf on it.
absl::StatusOr<ConfHandle> MakeConf(const std::map<std::string, std::string>& settings);

// Creates a producer or consumer, taking ownership of `conf` (librdkafka
// keeps it on success; the holder destroys it on failure).
// INVALID_ARGUMENT with librdkafka's reason when creation fails (it fails
// on configuration conflicts, e.g. idempotence with acks=1).
absl::StatusOr<ClientHandle> NewClient(rd_kafka_type_t type, ConfHandle conf);

}  // namespace surge::kafka::internal

#endif  // SURGE_KAFKA_INTERNAL_CONFIG_H_
