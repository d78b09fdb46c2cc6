// surge-kafka-dev: the embedded Kafka (librdkafka's mock cluster with surge's
// topics) as its own process, for development with kcat or several servers.
//
//   surge-kafka-dev --brokers=3 --partitions=6 --bootstrap_file=/tmp/kafka.txt
//   kcat -b "$(cat /tmp/kafka.txt)" -L
//
// Prints "bootstrap=<host:port,...>" on stdout once the topics exist, and
// runs until SIGTERM or SIGINT. Data lives in memory only.
//
// With --stdin_control, stdin is a line-based fault-injection channel (for
// fault tests and manual experiments); every line gets exactly one answer
// line on stdout, "ok" or "error <why>":
//
//   down <broker|all>                  disconnect a broker, refuse connections
//   up <broker|all>                    accept connections again
//   rtt <broker|all> <ms>              add latency to every response
//   leader <topic> <partition> <broker>  move a partition's leadership
//   errors <api_key> <code> <count>    fail the next <count> requests of that
//                                      type (0 = Produce, 1 = Fetch, ...)
//                                      with Kafka error <code>
//   clear <api_key>                    drop pending injected errors
//
// EOF on stdin ends the channel only; the broker keeps running until a
// signal, as without the flag.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/cli_flags.h"
#include "common/logging.h"
#include "kafka/embedded_broker.h"
#include "kafka/topics.h"

ABSL_FLAG(int, brokers, 3, "Brokers in the mock cluster.");
ABSL_FLAG(int, partitions, 6, "Partitions of every surge topic.");
ABSL_FLAG(std::string, bootstrap_file, "",
          "If set, the bootstrap servers are also written to this file (atomically).");
ABSL_FLAG(bool, stdin_control, false,
          "Read fault-injection commands from stdin, one per line, and answer each with "
          "\"ok\" or \"error <why>\" on stdout (see the file comment).");

namespace {

bool WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents << "\n";
    out.flush();
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// "all" -> -1 (the mock's "every broker"), else a positive broker id.
absl::Status ParseBroker(absl::string_view word, int32_t* id) {
  if (word == "all") {
    *id = -1;
    return absl::OkStatus();
  }
  if (!absl::SimpleAtoi(word, id) || *id < 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad broker \"", word, "\" (id >= 1 or all)"));
  }
  return absl::OkStatus();
}

absl::Status ParseInt(absl::string_view word, absl::string_view what, int64_t* value) {
  if (!absl::SimpleAtoi(word, value)) {
    return absl::InvalidArgumentError(absl::StrCat("bad ", what, " \"", word, "\""));
  }
  return absl::OkStatus();
}

// Runs one control command against the broker.
absl::Status Execute(surge::kafka::EmbeddedBroker& broker, absl::string_view line) {
  std::vector<absl::string_view> w = absl::StrSplit(line, ' ', absl::SkipWhitespace());
  if (w.empty()) return absl::InvalidArgumentError("empty command");
  const absl::string_view verb = w[0];
  auto want = [&](size_t args) -> absl::Status {
    if (w.size() != args + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(verb, " takes ", args, " argument(s), got ", w.size() - 1));
    }
    return absl::OkStatus();
  };
  int32_t id = 0;
  int64_t a = 0, b = 0, c = 0;
  absl::Status st;
  if (verb == "down" || verb == "up") {
    if (!(st = want(1)).ok() || !(st = ParseBroker(w[1], &id)).ok()) return st;
    return verb == "down" ? broker.SetBrokerDown(id) : broker.SetBrokerUp(id);
  }
  if (verb == "rtt") {
    if (!(st = want(2)).ok() || !(st = ParseBroker(w[1], &id)).ok() ||
        !(st = ParseInt(w[2], "milliseconds", &a)).ok()) {
      return st;
    }
    if (a < 0) return absl::InvalidArgumentError("rtt must be >= 0");
    return broker.SetBrokerRtt(id, absl::Milliseconds(a));
  }
  if (verb == "leader") {
    if (!(st = want(3)).ok() || !(st = ParseInt(w[2], "partition", &a)).ok() ||
        !(st = ParseInt(w[3], "broker", &b)).ok()) {
      return st;
    }
    return broker.SetPartitionLeader(w[1], static_cast<int32_t>(a), static_cast<int32_t>(b));
  }
  if (verb == "errors") {
    if (!(st = want(3)).ok() || !(st = ParseInt(w[1], "api_key", &a)).ok() ||
        !(st = ParseInt(w[2], "error code", &b)).ok() || !(st = ParseInt(w[3], "count", &c)).ok()) {
      return st;
    }
    if (a < 0 || a > 100) return absl::InvalidArgumentError("api_key out of range");
    if (c < 1 || c > 100000) return absl::InvalidArgumentError("count must be in [1, 100000]");
    broker.PushRequestErrors(static_cast<int16_t>(a),
                             std::vector<int>(static_cast<size_t>(c), static_cast<int>(b)));
    return absl::OkStatus();
  }
  if (verb == "clear") {
    if (!(st = want(1)).ok() || !(st = ParseInt(w[1], "api_key", &a)).ok()) return st;
    if (a < 0 || a > 100) return absl::InvalidArgumentError("api_key out of range");
    broker.ClearRequestErrors(static_cast<int16_t>(a));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command \"", verb, "\""));
}

// Serves the stdin channel until EOF or `stop`. Polls so that shutdown
// never waits on a blocked read.
void ServeControl(surge::kafka::EmbeddedBroker& broker, const std::atomic<bool>& stop) {
  std::string pending;
  char buf[4096];
  while (!stop.load(std::memory_order_relaxed)) {  // relaxed: a flag, no data published
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) continue;
    const ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n <= 0) return;  // EOF or error: the channel is over, the broker is not
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const absl::Status status = Execute(broker, line);
      SURGE_LOG(INFO, "kafka-dev") << "control \"" << line << "\": " << status;
      const std::string answer = status.ok() ? "ok" : absl::StrCat("error ", status.message());
      std::printf("%s\n", answer.c_str());
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // --help, --version and unknown flags (exit 2) as common/cli_flags.h says.
  surge::ParseCliFlags(
      argc, argv,
      {"surge-kafka-dev",
       "a standalone Kafka-protocol broker for development and tests (librdkafka's mock "
       "cluster, memory only) with surge's topics.\n"
       "  surge-kafka-dev --brokers=3 --partitions=6 --bootstrap_file=/tmp/kafka.txt",
       {"kafka/dev_broker_main.cc"}});

  // Block the stop signals before any thread starts so every librdkafka
  // thread inherits the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  surge::kafka::EmbeddedBroker::Options options;
  options.brokers = absl::GetFlag(FLAGS_brokers);
  options.partitions = absl::GetFlag(FLAGS_partitions);
  options.replication_factor = options.brokers < 3 ? options.brokers : 3;
  auto broker = surge::kafka::EmbeddedBroker::Start(options);
  if (!broker.ok()) {
    SURGE_LOG(ERROR, "kafka-dev") << "cannot start: " << broker.status();
    return 1;
  }
  // Cluster mode's topics (surge-server --cluster): the deciders'
  // changelogs and the membership heartbeats.
  for (const std::string& topic : surge::kafka::EventTopics()) {
    absl::Status status =
        (*broker)->CreateTopic(surge::kafka::ChangelogTopic(topic), options.partitions);
    if (!status.ok()) {
      SURGE_LOG(ERROR, "kafka-dev") << "cannot create the changelog of " << topic << ": " << status;
      return 1;
    }
  }
  if (absl::Status status = (*broker)->CreateTopic(surge::kafka::kClusterTopic, 1);
      !status.ok()) {
    SURGE_LOG(ERROR, "kafka-dev") << "cannot create " << surge::kafka::kClusterTopic << ": "
                                  << status;
    return 1;
  }
  const std::string& bootstrap = (*broker)->bootstrap_servers();
  const std::string file = absl::GetFlag(FLAGS_bootstrap_file);
  if (!file.empty() && !WriteFileAtomically(file, bootstrap)) {
    SURGE_LOG(ERROR, "kafka-dev") << "cannot write " << file;
    return 1;
  }
  std::printf("bootstrap=%s\n", bootstrap.c_str());
  std::fflush(stdout);

  std::atomic<bool> stop_control{false};
  std::thread control;
  if (absl::GetFlag(FLAGS_stdin_control)) {
    control = std::thread([&] { ServeControl(**broker, stop_control); });
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  SURGE_LOG(INFO, "kafka-dev") << "signal " << signal_number << ", stopping";
  stop_control.store(true, std::memory_order_relaxed);
  if (control.joinable()) control.join();  // before the broker it uses goes
  broker->reset();
  if (!file.empty()) std::remove(file.c_str());
  return 0;
}
