// Runs the real `surge-server` binary as a child process for integration
// tests: a private data dir, a kernel-chosen port (--grpc_addr=127.0.0.1:0
// with --port_file), bounded waits with clear failure messages, stubs for
// every surge.v1 service, and crash/stop/restart controls.
//
//   SURGE_ASSIGN_OR_RETURN(auto server, ServerProcess::Start({}));
//   auto orders = server->Orders();
//   ...
//   server->Kill();                     // kill -9
//   ASSERT_TRUE(server->Restart().ok()); // same data dir, same flags
//
// The child's stdout and stderr go to <dir>/server.log (appended across
// restarts); failures quote its tail (LogTail()).
//
// Not thread-safe: one test thread drives it. The destructor SIGKILLs a
// child still running and removes the directory unless keep_dir is set.
#ifndef SURGE_TESTS_SUPPORT_SERVER_PROCESS_H_
#define SURGE_TESTS_SUPPORT_SERVER_PROCESS_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "surge/v1/surge.grpc.pb.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {

class ServerProcess {
 public:
  struct Options {
    // Extra surge-server flags, e.g. "--admin_token_file=/path".
    std::vector<std::string> flags;
    // Run with the server's own admission defaults. Off (most tests): its
    // time bound is turned off (--max_decision_delay_ms=0), so a test that
    // floods a busy machine is not refused at random; the hard cap stays.
    bool default_admission = false;
    // Bound on start-up: port file written and health SERVING.
    absl::Duration start_timeout = absl::Seconds(30);
    // Keep the directory after the test (for debugging).
    bool keep_dir = false;
    // Credentials of channel() (and the readiness check); null = plaintext.
    // Pass grpc::SslCredentials(...) when the flags enable TLS.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
  };

  // The child's result when it ran to exit by itself (see RunToExit).
  struct Exit {
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;      // the signal that killed it, 0 otherwise
    std::string log;     // everything it wrote
  };

  // Starts the server and waits until it serves. Errors carry the log tail.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(Options options);

  // Runs surge-server with exactly `flags` (plus nothing) and waits for it to
  // exit by itself, e.g. to check that it refuses to start. DEADLINE_EXCEEDED
  // (after killing it) when it still runs at the deadline.
  static absl::StatusOr<Exit> RunToExit(const std::vector<std::string>& flags,
                                        absl::Duration timeout);

  // The path of the surge-server binary under test: this build's, or the
  // environment's SURGE_SERVER_BIN when set.
  static std::string BinaryPath();

  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // SIGKILL and reap (a crash). No-op when not running.
  void Kill();
  // SIGTERM, then wait up to `timeout` for the exit; the exit code, or an
  // error (with the log tail) when it did not exit or died by a signal.
  absl::StatusOr<int> Terminate(absl::Duration timeout = absl::Seconds(20));
  // Starts again on the same data dir with the same flags (after Kill or
  // Terminate, or kills first when still running) and waits until serving.
  absl::Status Restart();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  // The Prometheus port the child bound (from its --metrics_port_file); 0
  // when not known (yet).
  int metrics_port() const;
  std::string address() const;  // "127.0.0.1:<port>"
  const std::string& dir() const { return dir_->path(); }
  std::string data_dir() const { return dir_->Path("data"); }
  std::string log_path() const { return dir_->Path("server.log"); }
  // The last `lines` lines of the child's log.
  std::string LogTail(int lines = 40) const;

  // A channel to the current process (recreated after a restart).
  std::shared_ptr<grpc::Channel> channel();
  std::unique_ptr<v1::OrderService::Stub> Orders();
  std::unique_ptr<v1::InventoryService::Stub> Inventory();
  std::unique_ptr<v1::CouponService::Stub> Coupons();
  std::unique_ptr<v1::EventStoreService::Stub> EventStore();
  std::unique_ptr<v1::DeadLetterService::Stub> DeadLetters();

  // grpc.health.v1 Check("") == SERVING.
  bool IsServing(absl::Duration timeout = absl::Seconds(5));
  // The log head position, from EventStoreService.ReadAll.
  absl::StatusOr<uint64_t> HeadPosition();

 private:
  explicit ServerProcess(Options options);
  absl::Status Spawn();
  absl::Status WaitUntilServing();
  // Reaps without blocking; true (and pid_ cleared) when the child exited.
  bool ReapIfExited(int* wait_status);

  Options options_;
  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_SUPPORT_SERVER_PROCESS_H_
