// surge-kafka-dev: the embedded Kafka (librdkafka's mock cluster with surge's
// topics) as its own process, for development with kcat or several servers.
//
//   surge-kafka-dev --brokers=3 --partitions=6 --bootstrap_file=/tmp/kafka.txt
//   kcat -b "$(cat /tmp/kafka.txt)" -L
//
// Prints "bootstrap=<host:port,...>" on stdout once the topics exist, and
// runs until SIGTERM or SIGINT. Data lives in memory only.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/logging.h"
#include "kafka/embedded_broker.h"

ABSL_FLAG(int, brokers, 3, "Brokers in the mock cluster.");
ABSL_FLAG(int, partitions, 6, "Partitions of every surge topic.");
ABSL_FLAG(std::string, bootstrap_file, "",
          "If set, the bootstrap servers are also written to this file (atomically).");

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

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);

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
  const std::string& bootstrap = (*broker)->bootstrap_servers();
  const std::string file = absl::GetFlag(FLAGS_bootstrap_file);
  if (!file.empty() && !WriteFileAtomically(file, bootstrap)) {
    SURGE_LOG(ERROR, "kafka-dev") << "cannot write " << file;
    return 1;
  }
  std::printf("bootstrap=%s\n", bootstrap.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  SURGE_LOG(INFO, "kafka-dev") << "signal " << signal_number << ", stopping";
  broker->reset();
  if (!file.empty()) std::remove(file.c_str());
  return 0;
}
