// Keeps surge-bench working: runs `surge-bench --smoke` against a real
// surge-server (fresh temp data dir, port 0) and checks that it exits 0 and
// writes a parsable JSON report with figures in it.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

// A child process, killed (SIGTERM, then SIGKILL) and reaped when destroyed.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) pid_ = -1;
  }
  ~Child() {
    if (pid_ <= 0 || exited_) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && !TryWait(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // bounded reap
    }
    if (!exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Waits up to `timeout` for the exit; returns the exit code, -1 on timeout.
  int Wait(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!TryWait()) {
      if (std::chrono::steady_clock::now() > deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  bool TryWait() {
    if (exited_) return true;
    exited_ = waitpid(pid_, &status_, WNOHANG) == pid_;
    return exited_;
  }
  pid_t pid_ = -1;
  int status_ = 0;
  bool exited_ = false;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class BenchSmokeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("surge-bench-smoke-" + std::to_string(getpid()) + "-" + GetParam());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_P(BenchSmokeTest, SmokeRunExitsZeroAndWritesJson) {
  const fs::path port_file = dir_ / "port";
  Child server({SURGE_SERVER_BIN, "--grpc_addr=127.0.0.1:0", "--port_file=" + port_file.string(),
                "--data_dir=" + (dir_ / "data").string(), "--metrics_addr=127.0.0.1:0"});
  ASSERT_GT(server.pid(), 0) << "cannot start " << SURGE_SERVER_BIN;
  std::string port;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((port = ReadFile(port_file)).empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "server published no port";
    ASSERT_EQ(server.Wait(std::chrono::seconds(0)), -1) << "server exited early";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  while (!port.empty() && std::isspace(static_cast<unsigned char>(port.back()))) port.pop_back();

  const fs::path json = dir_ / "report.json";
  Child bench({SURGE_BENCH_BIN, "--target=127.0.0.1:" + port, "--scenario=" + GetParam(),
               "--smoke", "--settle_timeout=15s", "--json=" + json.string()});
  ASSERT_EQ(bench.Wait(std::chrono::seconds(60)), 0) << "surge-bench --smoke failed";

  const std::string text = ReadFile(json);
  ASSERT_FALSE(text.empty());
  // Parsable by the same consumer the report script uses.
  const std::string cmd = "/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); "
                          "sys.exit(0 if r[\"accepted\"] > 0 and r[\"check_ok\"] else 3)' " +
                          json.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << text;
  if (GetParam() != "noop") {
    // Every measured command settled on both clocks: the client's, and the
    // server's (command commit to decision commit, from the filtered stream).
    const std::string both =
        "/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); "
        "c=r[\"settle_latency\"]; s=r[\"settle_latency_server\"]; "
        "sys.exit(0 if c and s and s[\"count\"] == c[\"count\"] == r[\"accepted\"] "
        "and s[\"p50_us\"] <= s[\"max_us\"] else 4)' " +
        json.string();
    EXPECT_EQ(std::system(both.c_str()), 0) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, BenchSmokeTest,
                         ::testing::Values("noop", "orders", "flash-sale", "mixed"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
