// librdkafka settings an operator gives every Kafka client surge makes
// (--kafka_config_file): TLS, SASL, client.rack, tuning. The file is in the
// format kcat's -F reads: `key=value` lines, `#` comments, blank lines.
// A plain key applies to every client; `producer.<key>` and
// `consumer.<key>` apply to one role and win over the plain key there.
//
//   SURGE_ASSIGN_OR_RETURN(ClientConfig config,
//                          LoadClientConfig("/etc/surge/kafka.properties",
//                                           {.bootstrap_servers = brokers}));
//   relay_options.producer_config = config.producer;
//
// surge's own settings are not the file's to change. A file that sets one
// is refused, naming the key (kRefusedKeys lists them and why); `acks` may
// only say `all` and `bootstrap.servers` only repeat --kafka_brokers. Every
// other key is checked against a librdkafka producer and consumer
// configuration (unknown key, bad value, a role's key under the other
// role's prefix), and a client of each role is created (not connected) from
// it, so a bad TLS file fails here too. All of that happens before anything
// is written.
//
// Values of secret keys (IsSecretKey) never appear in an error or in
// Summary(): they read `[redacted]`.
//
// Thread-safe (pure functions; validation uses private clients).
#ifndef SURGE_KAFKA_CLIENT_CONFIG_H_
#define SURGE_KAFKA_CLIENT_CONFIG_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace surge::kafka {

struct ClientConfigOptions {
  // --kafka_brokers. A bootstrap.servers (or metadata.broker.list) in the
  // file must be this exact string: two sources of the broker list that
  // disagree are a mistake, not a preference.
  std::string bootstrap_servers;
};

// The validated settings, per role, ready for the Options structs'
// producer_config / consumer_config maps (applied over surge's defaults).
struct ClientConfig {
  // Plain keys that apply to producers, then `producer.` keys over them.
  std::map<std::string, std::string> producer;
  // Plain keys that apply to consumers, then `consumer.` keys over them.
  std::map<std::string, std::string> consumer;

  bool empty() const { return producer.empty() && consumer.empty(); }
  // "producer: k=v, ...; consumer: k=v, ..." with secrets redacted, for the
  // startup log.
  std::string Summary() const;
};

// The keys surge sets itself, each with why; a file that sets one (plain or
// prefixed) is refused with this reason.
const std::map<std::string, std::string>& RefusedKeys();

// True for keys whose values are secrets (passwords, client secrets, private
// keys, OAUTHBEARER configs), prefixed or not.
bool IsSecretKey(absl::string_view key);

// `value`, or "[redacted]" when `key` is secret.
std::string ShownValue(absl::string_view key, absl::string_view value);

// Parses and validates the file's text. `source` names it in errors.
// INVALID_ARGUMENT naming the key (or the line) for a malformed line, a
// duplicate key, a refused key, an unknown key, a bad value, or settings a
// client cannot be created from.
absl::StatusOr<ClientConfig> ParseClientConfig(absl::string_view text, absl::string_view source,
                                               const ClientConfigOptions& options);

// Reads `path` and parses it. NOT_FOUND / PERMISSION_DENIED / INTERNAL
// naming the path when it cannot be read.
absl::StatusOr<ClientConfig> LoadClientConfig(const std::string& path,
                                              const ClientConfigOptions& options);

}  // namespace surge::kafka

#endif  // SURGE_KAFKA_CLIENT_CONFIG_H_
