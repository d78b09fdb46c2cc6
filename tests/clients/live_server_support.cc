// LiveServer on the shared harness, tests/support/server_process.h.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tests/clients/live_server.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace surge::testing {
namespace {

class HarnessLiveServer : public LiveServer {
 public:
  HarnessLiveServer() {
    const std::string token_file = token_dir_.Path("token");
    std::ofstream(token_file) << kAdminToken << "\n";
    ServerProcess::Options options;
    options.flags = {"--admin_token_file=" + token_file, "--log_level=warning"};
    absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(options);
    if (!server.ok()) Fail(server.status());
    server_ = std::move(*server);
  }

  ~HarnessLiveServer() override {
    // These tests are about the clients, not shutdown (tests/server covers
    // SIGTERM); a kill keeps each test process short.
    server_->Kill();
  }

  std::string addr() const override { return server_->address(); }
  std::shared_ptr<grpc::Channel> channel() const override { return server_->channel(); }

 private:
  [[noreturn]] static void Fail(const absl::Status& status) {
    std::fprintf(stderr, "surge-server for the client tests did not start: %s\n",
                 status.ToString().c_str());
    std::abort();
  }

  TempDir token_dir_;
  std::unique_ptr<ServerProcess> server_;
};

}  // namespace

LiveServer& LiveServer::Get() {
  // Stopped (SIGTERM) by its destructor when the test process exits.
  static HarnessLiveServer server;
  return server;
}

}  // namespace surge::testing
