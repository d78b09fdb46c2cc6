// surge-kafka-dev as a child process with its stdin fault-control channel
// (--stdin_control): start it, read its bootstrap servers, send it fault
// commands ("down all", "leader surge.stock 0 2", "errors 0 6 20", ...) and
// get each answer. Stopped (SIGTERM, then SIGKILL) by PID at destruction.
//
//   DevBrokerProcess broker;
//   ASSERT_TRUE(broker.Start(SURGE_KAFKA_DEV_BIN).ok());
//   ASSERT_TRUE(broker.Command("down all").ok());
//
// Not thread-safe: one test thread drives it.
#ifndef SURGE_TESTS_FAULTS_DEV_BROKER_PROCESS_H_
#define SURGE_TESTS_FAULTS_DEV_BROKER_PROCESS_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace surge::faults {

class DevBrokerProcess {
 public:
  DevBrokerProcess() = default;
  DevBrokerProcess(const DevBrokerProcess&) = delete;
  DevBrokerProcess& operator=(const DevBrokerProcess&) = delete;
  ~DevBrokerProcess();

  // Spawns `binary` with --stdin_control and waits (bounded) for its
  // "bootstrap=" line. DEADLINE_EXCEEDED when it never came.
  absl::Status Start(const std::string& binary, int partitions = 6,
                     absl::Duration timeout = absl::Seconds(20));

  // Sends one control line and waits for its answer: OK for "ok",
  // FAILED_PRECONDITION with the broker's text for "error ...",
  // DEADLINE_EXCEEDED when no answer came in time.
  absl::Status Command(absl::string_view line, absl::Duration timeout = absl::Seconds(10));

  const std::string& bootstrap_servers() const { return bootstrap_; }

 private:
  // One line of the child's stdout, or nullopt-equivalent "" on timeout/EOF.
  bool ReadLine(absl::Time deadline, std::string* line);

  pid_t pid_ = -1;
  int to_child_ = -1;    // the child's stdin
  int from_child_ = -1;  // the child's stdout
  std::string buffered_;
  std::string bootstrap_;
};

}  // namespace surge::faults

#endif  // SURGE_TESTS_FAULTS_DEV_BROKER_PROCESS_H_
