#include "kafka/client_config.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "kafka/internal/holders.h"

namespace surge::kafka {
namespace {

constexpr char kRedacted[] = "[redacted]";
constexpr absl::string_view kProducerPrefix = "producer.";
constexpr absl::string_view kConsumerPrefix = "consumer.";

// What librdkafka says of a property: which role reads it ('P', 'C' or '*')
// and, for an alias ("linger.ms"), the name it stands for.
struct PropertyInfo {
  char scope = '*';
  std::string canonical;
};

// librdkafka's own property table (rd_kafka_conf_properties_show), parsed
// once. It is the only place that says which role reads a key and what
// its aliases are; rd_kafka_conf_set accepts a consumer key on a producer
// configuration without a word.
const std::map<std::string, PropertyInfo>& Properties() {
  static const auto* const properties = [] {
    auto* table = new std::map<std::string, PropertyInfo>();
    char* buffer = nullptr;
    size_t size = 0;
    FILE* out = open_memstream(&buffer, &size);
    if (out == nullptr) return table;
    rd_kafka_conf_properties_show(out);
    fclose(out);
    const std::string text(buffer, size);
    free(buffer);
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      std::vector<absl::string_view> cols = absl::StrSplit(line, '|');
      if (cols.size() < 6) continue;
      const std::string name(absl::StripAsciiWhitespace(cols[0]));
      const absl::string_view scope = absl::StripAsciiWhitespace(cols[1]);
      if (name.empty() || name == "Property" || scope.size() != 1) continue;
      PropertyInfo info;
      info.scope = scope[0];
      // The description is everything after the fifth bar (it may hold more).
      size_t bar = 0;  // cols.size() >= 6: there are five bars
      for (int i = 0; i < 5; ++i) bar = line.find('|', i == 0 ? 0 : bar + 1);
      absl::string_view description = absl::StripAsciiWhitespace(line.substr(bar + 1));
      constexpr absl::string_view kAlias = "Alias for `";
      if (absl::StartsWith(description, kAlias)) {
        description.remove_prefix(kAlias.size());
        info.canonical = std::string(description.substr(0, description.find('`')));
      } else {
        info.canonical = name;
      }
      table->emplace(name, std::move(info));
    }
    return table;
  }();
  return *properties;
}

std::string Canonical(const std::string& key) {
  auto it = Properties().find(key);
  return it == Properties().end() ? key : it->second.canonical;
}

// The value every client of surge needs for a key the file may repeat but
// not change; empty when any value is refused.
struct Required {
  std::vector<std::string> accepted;
  std::string reason;
};

// Keyed by librdkafka's canonical names, so an alias (acks,
// bootstrap.servers, max.in.flight) is caught as well.
const std::map<std::string, Required>& RequiredSettings() {
  static const auto* const required = new std::map<std::string, Required>{
      {"request.required.acks",
       {{"all", "-1"},
        "surge counts a message delivered only once every in-sync replica has it (acks=all)"}},
      {"metadata.broker.list", {{}, "the brokers come from --kafka_brokers"}},
      {"group.id",
       {{}, "surge names its consumer groups per role and node (projections, deciders, views)"}},
      {"group.instance.id",
       {{}, "one static id shared by several consumers of a node would fence them off each other"}},
      {"partition.assignment.strategy",
       {{},
        "every member of a decider group must use surge's strategy (a mismatch fails the "
        "group)"}},
      {"session.timeout.ms", {{}, "set with --cluster_session_timeout_ms"}},
      {"heartbeat.interval.ms", {{}, "derived from --cluster_session_timeout_ms"}},
      {"enable.auto.commit",
       {{}, "surge commits offsets only after a batch's effects are durable"}},
      {"enable.auto.offset.store",
       {{}, "surge stores offsets only after a batch's effects are durable"}},
      {"auto.offset.reset",
       {{}, "surge reads from the earliest offset and detects lost messages itself"}},
      {"enable.partition.eof", {{}, "surge's restorers need end-of-partition events, others not"}},
      {"enable.idempotence",
       {{},
        "surge sets it per producer (the relay orders with one request in flight, the "
        "changelog writers are idempotent)"}},
      {"max.in.flight.requests.per.connection",
       {{}, "the relay keeps per-partition order with one request in flight"}},
      {"transactional.id", {{}, "surge uses no Kafka transactions"}},
      {"partitioner", {{}, "surge picks partitions itself (murmur2 of the key, like Java)"}},
  };
  return *required;
}

std::vector<std::pair<std::string, std::string>> SecretValues(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<std::pair<std::string, std::string>> secrets;
  for (const auto& [key, value] : entries) {
    if (IsSecretKey(key) && !value.empty()) secrets.emplace_back(value, kRedacted);
  }
  return secrets;
}

// librdkafka's messages may quote a value back; a secret must never leave
// this module, whatever librdkafka's wording.
std::string Scrub(std::string message,
                  const std::vector<std::pair<std::string, std::string>>& secrets) {
  return secrets.empty() ? message : absl::StrReplaceAll(message, secrets);
}

// Collects what librdkafka logs while a validation client is created (TLS
// files that do not load, a role's property on the other role) instead of
// letting it reach stderr.
struct CapturedLog {
  absl::Mutex mu;
  std::vector<std::string> lines ABSL_GUARDED_BY(mu);
};

void CaptureLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  auto* captured = static_cast<CapturedLog*>(rd_kafka_opaque(rk));
  if (captured == nullptr || level > 4 /* LOG_WARNING */) return;
  absl::MutexLock lock(&captured->mu);
  captured->lines.push_back(absl::StrCat(facility, ": ", message));
}

// Creates (and destroys) a client of `type` from `settings`: what
// rd_kafka_conf_set cannot tell (a certificate that does not load, a
// SASL mechanism this build lacks) fails here.
absl::Status TryClient(rd_kafka_type_t type, const std::map<std::string, std::string>& settings,
                       absl::string_view source,
                       const std::vector<std::pair<std::string, std::string>>& secrets) {
  internal::ConfHandle conf(rd_kafka_conf_new());
  char errstr[512] = {0};
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(
          Scrub(absl::StrCat(source, ": ", key, ": ", errstr), secrets));
    }
  }
  CapturedLog captured;
  rd_kafka_conf_set_opaque(conf.get(), &captured);
  rd_kafka_conf_set_log_cb(conf.get(), &CaptureLog);
  errstr[0] = '\0';
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  const char* role = type == RD_KAFKA_PRODUCER ? "producer" : "consumer";
  if (rk == nullptr) {
    std::string logged;
    {
      absl::MutexLock lock(&captured.mu);
      if (!captured.lines.empty()) {
        logged = absl::StrCat(" (", absl::StrJoin(captured.lines, "; "), ")");
      }
    }
    return absl::InvalidArgumentError(
        Scrub(absl::StrCat(source, ": a Kafka ", role,
                           " cannot be made from these settings: ", errstr, logged),
              secrets));
  }
  conf.release();  // owned by rk now
  internal::ClientHandle client(rk);
  return absl::OkStatus();
}

}  // namespace

const std::map<std::string, std::string>& RefusedKeys() {
  static const auto* const keys = [] {
    auto* map = new std::map<std::string, std::string>();
    for (const auto& [key, required] : RequiredSettings()) {
      (*map)[key] = required.accepted.empty()
                        ? required.reason
                        : absl::StrCat(required.reason, "; only ",
                                       absl::StrJoin(required.accepted, " or "), " is accepted");
    }
    return map;
  }();
  return *keys;
}

bool IsSecretKey(absl::string_view key) {
  const std::string lower = absl::AsciiStrToLower(key);
  for (absl::string_view word : {"password", "secret", "token", "sasl.oauthbearer.config",
                                 "ssl.key.pem", "ssl_key", "jaas"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

std::string ShownValue(absl::string_view key, absl::string_view value) {
  return IsSecretKey(key) ? kRedacted : std::string(value);
}

std::string ClientConfig::Summary() const {
  auto join = [](const std::map<std::string, std::string>& settings) {
    std::vector<std::string> parts;
    for (const auto& [key, value] : settings) {
      parts.push_back(absl::StrCat(key, "=", ShownValue(key, value)));
    }
    return parts.empty() ? std::string("(none)") : absl::StrJoin(parts, ", ");
  };
  return absl::StrCat("producer: ", join(producer), "; consumer: ", join(consumer));
}

namespace {

absl::StatusOr<ClientConfig> ParseUnscrubbed(
    absl::string_view text, absl::string_view source, const ClientConfigOptions& options,
    std::vector<std::pair<std::string, std::string>>* secrets_out) {
  // key as written -> (value, line)
  std::vector<std::pair<std::string, std::string>> entries;
  std::map<std::string, int> lines;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      // The line itself is not shown: it may be a pasted secret.
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", number, ": expected key=value (kcat -F format)"));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (auto [it, inserted] = lines.emplace(key, number); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ":", number, ": ", key, " is set twice (first on line ", it->second, ")"));
    }
    entries.emplace_back(std::move(key), std::move(value));
  }
  const auto secrets = SecretValues(entries);
  *secrets_out = secrets;

  // Role of each entry: 'P', 'C' or '*' (plain).
  ClientConfig config;
  std::map<std::string, std::string> plain;
  for (const auto& [written, value] : entries) {
    std::string key = written;
    char role = '*';
    if (absl::StartsWith(key, kProducerPrefix)) {
      role = 'P';
      key = key.substr(kProducerPrefix.size());
    } else if (absl::StartsWith(key, kConsumerPrefix)) {
      role = 'C';
      key = key.substr(kConsumerPrefix.size());
    }
    const std::string at = absl::StrCat(source, ":", lines[written], ": ", written);
    auto property = Properties().find(key);
    if (property == Properties().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": unknown librdkafka configuration key \"", key, "\""));
    }
    const std::string canonical = Canonical(key);
    if (auto required = RequiredSettings().find(canonical); required != RequiredSettings().end()) {
      const std::vector<std::string>& accepted = required->second.accepted;
      const bool same_brokers = canonical == "metadata.broker.list" &&
                                !options.bootstrap_servers.empty() &&
                                value == options.bootstrap_servers;
      bool allowed = same_brokers;
      for (const std::string& a : accepted) allowed = allowed || value == a;
      if (!allowed) {
        return absl::InvalidArgumentError(absl::StrCat(at, ": surge sets this itself and refuses ",
                                                       ShownValue(key, value), " (",
                                                       RefusedKeys().at(canonical), ")"));
      }
      continue;  // the same value surge sets anyway
    }
    const char scope = property->second.scope;
    if (role != '*' && scope != '*' && scope != role) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": \"", key, "\" is a ", scope == 'P' ? "producer" : "consumer",
                       " setting; it has no effect on a ", role == 'P' ? "producer" : "consumer"));
    }
    // A plain key goes to the roles that read it (linger.ms to producers
    // only), so no client warns about a key meant for the other role.
    if (role == '*') {
      if (scope != 'C') config.producer.emplace(key, value);
      if (scope != 'P') config.consumer.emplace(key, value);
    }
  }
  // The prefixed keys win over the plain ones.
  for (const auto& [written, value] : entries) {
    if (absl::StartsWith(written, kProducerPrefix)) {
      const std::string key = written.substr(kProducerPrefix.size());
      if (!RequiredSettings().contains(Canonical(key))) config.producer[key] = value;
    } else if (absl::StartsWith(written, kConsumerPrefix)) {
      const std::string key = written.substr(kConsumerPrefix.size());
      if (!RequiredSettings().contains(Canonical(key))) config.consumer[key] = value;
    }
  }
  // Every value checked by librdkafka for its role, then a client of each
  // role made from them.
  for (const auto& [type, settings] : {std::pair{RD_KAFKA_PRODUCER, &config.producer},
                                       std::pair{RD_KAFKA_CONSUMER, &config.consumer}}) {
    internal::ConfHandle conf(rd_kafka_conf_new());
    for (const auto& [key, value] : *settings) {
      char errstr[512] = {0};
      const rd_kafka_conf_res_t res =
          rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof(errstr));
      if (res == RD_KAFKA_CONF_OK) continue;
      std::string written = key;
      const std::string prefixed =
          absl::StrCat(type == RD_KAFKA_PRODUCER ? kProducerPrefix : kConsumerPrefix, key);
      if (lines.contains(prefixed)) written = prefixed;
      return absl::InvalidArgumentError(
          Scrub(absl::StrCat(source, ":", lines[written], ": ", written, ": bad value ",
                             IsSecretKey(key) ? kRedacted : absl::StrCat("\"", value, "\""), ": ",
                             IsSecretKey(key) ? "rejected by librdkafka" : errstr),
                secrets));
    }
    if (absl::Status s = TryClient(type, *settings, source, secrets); !s.ok()) return s;
  }
  return config;
}

}  // namespace

absl::StatusOr<ClientConfig> ParseClientConfig(absl::string_view text, absl::string_view source,
                                               const ClientConfigOptions& options) {
  std::vector<std::pair<std::string, std::string>> secrets;
  absl::StatusOr<ClientConfig> config = ParseUnscrubbed(text, source, options, &secrets);
  // Whatever the error quotes (a secret pasted as another key's value,
  // librdkafka's wording), no secret leaves this module.
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        Scrub(std::string(config.status().message()), secrets));
  }
  return config;
}

absl::StatusOr<ClientConfig> LoadClientConfig(const std::string& path,
                                              const ClientConfigOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string why =
        absl::StrCat("cannot read the Kafka client config file ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(why);
    if (err == EACCES) return absl::PermissionDeniedError(why);
    return absl::InternalError(why);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::InternalError(
        absl::StrCat("cannot read the Kafka client config file ", path, ": read error"));
  }
  return ParseClientConfig(text.str(), path, options);
}

}  // namespace surge::kafka
