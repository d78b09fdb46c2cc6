// LiveServer on the surge-server binary started directly as a child process.
// Interim: tests/support/server_process.h (owned by the server engineer) is
// the shared harness; this file is used only while it does not exist.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "tests/clients/child_process.h"
#include "tests/clients/live_server.h"

namespace surge::testing {
namespace {

class ChildLiveServer : public LiveServer {
 public:
  ChildLiveServer() {
    char tmpl[] = "/tmp/surge-clients-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::ofstream(dir_ + "/token") << kAdminToken << "\n";
    const std::string port_file = dir_ + "/port";
    server_ = ChildProcess::Start({SURGE_SERVER_BIN, "--grpc_addr=127.0.0.1:0",
                                   "--data_dir=" + dir_ + "/data",
                                   "--admin_token_file=" + dir_ + "/token",
                                   "--port_file=" + port_file, "--log_level=warning"});
    // The port file is written atomically once the server listens; the
    // server offers no other readiness signal to a parent process.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    int port = 0;
    while (port == 0 && absl::Now() < deadline) {
      std::ifstream in(port_file);
      std::string text;
      if (in >> text && absl::SimpleAtoi(text, &port)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (port == 0) Fail("no port file within 30 s");
    addr_ = absl::StrCat("127.0.0.1:", port);
    channel_ = grpc::CreateChannel(addr_, grpc::InsecureChannelCredentials());
    auto health = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(absl::ToChronoTime(deadline));
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = health->Check(&ctx, req, &resp);
    if (!s.ok() || resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
      Fail("health check did not answer SERVING: " + s.error_message());
    }
  }

  ~ChildLiveServer() override {
    server_->Signal(SIGTERM);
    server_->Wait(absl::Seconds(20));
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string addr() const override { return addr_; }
  std::shared_ptr<grpc::Channel> channel() const override { return channel_; }

 private:
  [[noreturn]] void Fail(const std::string& why) {
    std::fprintf(stderr, "surge-server did not start: %s\n--- server stderr\n%s\n",
                 why.c_str(), server_->err().c_str());
    std::abort();
  }

  std::string dir_;
  std::unique_ptr<ChildProcess> server_;
  std::string addr_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace

LiveServer& LiveServer::Get() {
  // Stopped (SIGTERM) by its destructor when the test process exits.
  static ChildLiveServer server;
  return server;
}

}  // namespace surge::testing
