#include "tests/support/server_process.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/child_process.h"

namespace surge::testing {
namespace {

// Between checks of a child we cannot be notified about (its port file,
// its exit): short enough to keep start-up fast, long enough to stay idle.
constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

}  // namespace

std::string ServerProcess::BinaryPath() {
  // Another build of the server, e.g. to run the crash loops against the
  // commit before a fix and see them fail.
  const char* other = std::getenv("SURGE_SERVER_BIN");
  return other != nullptr && *other != '\0' ? other : SURGE_SERVER_BIN;
}

ServerProcess::ServerProcess(Options options)
    : options_(std::move(options)), dir_(std::make_unique<TempDir>()) {}

ServerProcess::~ServerProcess() {
  Kill();
  if (options_.keep_dir) {
    std::fprintf(stderr, "ServerProcess: keeping %s\n", dir_->path().c_str());
    (void)dir_.release();  // TempDir's destructor would delete it
  }
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(Options options) {
  std::unique_ptr<ServerProcess> server(new ServerProcess(std::move(options)));
  if (absl::Status s = server->Spawn(); !s.ok()) return s;
  if (absl::Status s = server->WaitUntilServing(); !s.ok()) return s;
  return server;
}

int ServerProcess::metrics_port() const {
  std::ifstream in(dir_->Path("metrics_port"));
  int port = 0;
  in >> port;
  return port;
}

absl::Status ServerProcess::Spawn() {
  const std::string port_file = dir_->Path("port");
  ::unlink(port_file.c_str());
  port_ = 0;
  channel_.reset();
  std::vector<std::string> argv = {BinaryPath(), "--grpc_addr=127.0.0.1:0",
                                   absl::StrCat("--port_file=", port_file),
                                   absl::StrCat("--data_dir=", data_dir()),
                                   // Tests run side by side: never the default metrics port.
                                   "--metrics_addr=127.0.0.1:0",
                                   absl::StrCat("--metrics_port_file=", dir_->Path("metrics_port")),
                                   // Off in production (a global lock per acquisition); the
                                   // suite keeps Abseil's lock-order checking on.
                                   "--mutex_deadlock_detection=true"};
  if (!options_.default_admission) {
    // Admission's time bound refuses once the backlog is worth more than
    // its budget of deciding, which tests running side by side on a busy
    // CI machine can reach at random. Off unless a test asks for it (a
    // later flag wins); AdmissionTest and AdmissionBurstTest cover it.
    argv.push_back("--max_decision_delay_ms=0");
  }
  argv.insert(argv.end(), options_.flags.begin(), options_.flags.end());
  {
    std::ofstream log(log_path(), std::ios::app);
    log << "=== ServerProcess: " << absl::StrJoin(argv, " ") << "\n";
  }
  absl::StatusOr<pid_t> pid = SpawnLogged(argv, log_path());
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return absl::OkStatus();
}

bool ServerProcess::ReapIfExited(int* wait_status) {
  if (pid_ <= 0) return true;
  const pid_t r = ::waitpid(pid_, wait_status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return true;
  }
  return false;
}

absl::Status ServerProcess::WaitUntilServing() {
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  const std::string port_file = dir_->Path("port");
  while (absl::Now() < deadline) {
    int status = 0;
    if (ReapIfExited(&status)) {
      return absl::FailedPreconditionError(absl::StrCat("surge-server ", DescribeWaitStatus(status),
                                                        " before serving; log tail:\n", LogTail()));
    }
    if (port_ == 0) {
      int port = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFileOrEmpty(port_file)), &port) &&
          port > 0) {
        port_ = port;
      }
    }
    if (port_ != 0 && IsServing(absl::Seconds(1))) return absl::OkStatus();
    absl::SleepFor(kPollInterval);
  }
  Kill();
  return absl::DeadlineExceededError(absl::StrCat(
      "surge-server did not serve within ", absl::FormatDuration(options_.start_timeout),
      port_ == 0 ? " (no port file)" : " (health not SERVING)", "; log tail:\n", LogTail()));
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  channel_.reset();
}

absl::StatusOr<int> ServerProcess::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("surge-server is not running");
  ::kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (!ReapIfExited(&status)) {
    if (absl::Now() >= deadline) {
      Kill();
      return absl::DeadlineExceededError(absl::StrCat("surge-server did not exit within ",
                                                      absl::FormatDuration(timeout),
                                                      " of SIGTERM; log tail:\n", LogTail()));
    }
    absl::SleepFor(kPollInterval);
  }
  channel_.reset();
  if (!WIFEXITED(status)) {
    return absl::InternalError(absl::StrCat("surge-server ", DescribeWaitStatus(status),
                                            " after SIGTERM; log tail:\n", LogTail()));
  }
  return WEXITSTATUS(status);
}

absl::Status ServerProcess::Restart() {
  Kill();
  if (absl::Status s = Spawn(); !s.ok()) return s;
  return WaitUntilServing();
}

absl::StatusOr<ServerProcess::Exit> ServerProcess::RunToExit(const std::vector<std::string>& flags,
                                                             absl::Duration timeout) {
  TempDir dir;
  const std::string log_path = dir.Path("server.log");
  std::vector<std::string> argv = {BinaryPath()};
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<pid_t> pid = SpawnLogged(argv, log_path);
  if (!pid.ok()) return pid.status();
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (::waitpid(*pid, &status, WNOHANG) == 0) {
    if (absl::Now() >= deadline) {
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, &status, 0);
      return absl::DeadlineExceededError(
          absl::StrCat("surge-server still running after ", absl::FormatDuration(timeout),
                       "; log tail:\n", LastLines(ReadFileOrEmpty(log_path), 40)));
    }
    absl::SleepFor(kPollInterval);
  }
  Exit exit;
  if (WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  exit.log = ReadFileOrEmpty(log_path);
  return exit;
}

std::string ServerProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::string ServerProcess::LogTail(int lines) const {
  return LastLines(ReadFileOrEmpty(log_path()), lines);
}

std::shared_ptr<grpc::Channel> ServerProcess::channel() {
  if (channel_ == nullptr) {
    channel_ = grpc::CreateChannel(address(), options_.credentials != nullptr
                                                  ? options_.credentials
                                                  : grpc::InsecureChannelCredentials());
  }
  return channel_;
}

std::unique_ptr<v1::OrderService::Stub> ServerProcess::Orders() {
  return v1::OrderService::NewStub(channel());
}
std::unique_ptr<v1::InventoryService::Stub> ServerProcess::Inventory() {
  return v1::InventoryService::NewStub(channel());
}
std::unique_ptr<v1::CouponService::Stub> ServerProcess::Coupons() {
  return v1::CouponService::NewStub(channel());
}
std::unique_ptr<v1::EventStoreService::Stub> ServerProcess::EventStore() {
  return v1::EventStoreService::NewStub(channel());
}
std::unique_ptr<v1::DeadLetterService::Stub> ServerProcess::DeadLetters() {
  return v1::DeadLetterService::NewStub(channel());
}

bool ServerProcess::IsServing(absl::Duration timeout) {
  auto health = grpc::health::v1::Health::NewStub(channel());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  return status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::StatusOr<uint64_t> ServerProcess::HeadPosition() {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::ReadAllRequest request;
  request.set_from_position(std::numeric_limits<uint64_t>::max());
  request.set_max_count(1);
  v1::ReadAllResponse response;
  const grpc::Status status = EventStore()->ReadAll(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("ReadAll: ", status.error_message()));
  }
  return response.head_position();
}

}  // namespace surge::testing
