#include "tests/metrics/prometheus_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/metrics/http_get.h"

extern char** environ;

namespace surge::testing {
namespace {

// A port that was free a moment ago: bound to 0, read back, released.
// Prometheus cannot take an already-bound socket, so a race with another
// process is possible; Start() retries with a new port when it loses.
absl::StatusOr<int> FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port == 0) return absl::InternalError("no free port");
  return port;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

bool PrometheusProcess::Installed() {
  return std::system("command -v prometheus >/dev/null 2>&1") == 0;
}

absl::StatusOr<std::unique_ptr<PrometheusProcess>> PrometheusProcess::Start(
    const Options& options) {
  if (options.target_port <= 0) return absl::InvalidArgumentError("target_port is required");
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<PrometheusProcess> prom(new PrometheusProcess(std::make_unique<TempDir>()));
    last = prom->Spawn(options.target_port);
    if (last.ok()) last = prom->WaitUntilReady(options.start_timeout);
    if (last.ok()) return prom;
    // Most likely the port was taken meanwhile: try another one.
  }
  return last;
}

absl::Status PrometheusProcess::Spawn(int target_port) {
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  port_ = *port;
  const std::string config = dir_->Path("prometheus.yml");
  {
    std::ofstream out(config);
    out << "global:\n"
           "  scrape_interval: 1s\n"
           "  scrape_timeout: 1s\n"
           "  evaluation_interval: 1s\n"
           "scrape_configs:\n"
           "  - job_name: surge\n"
           "    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << target_port << "']\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", config));
  }
  const std::vector<std::string> argv = {
      "prometheus",
      absl::StrCat("--config.file=", config),
      absl::StrCat("--storage.tsdb.path=", dir_->Path("tsdb")),
      absl::StrCat("--web.listen-address=127.0.0.1:", port_),
  };
  const std::string log = dir_->Path("prometheus.log");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, dir_->path().c_str());
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int err = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    pid_ = -1;
    return absl::InternalError(absl::StrCat("cannot start prometheus: ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status PrometheusProcess::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int wait_status = 0;
    if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("prometheus exited during start-up:\n", LogTail()));
    }
    absl::StatusOr<HttpResponse> ready = HttpGet(port_, "/-/ready", absl::Seconds(2));
    if (ready.ok() && ready->status == 200) return absl::OkStatus();
    // An external process: there is nothing to wait on but its HTTP port.
    absl::SleepFor(absl::Milliseconds(100));
  }
  Stop();
  return absl::DeadlineExceededError(absl::StrCat("prometheus not ready within ",
                                                  absl::FormatDuration(timeout), ":\n", LogTail()));
}

PrometheusProcess::~PrometheusProcess() { Stop(); }

void PrometheusProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string PrometheusProcess::LogTail() const {
  std::vector<std::string> lines = absl::StrSplit(ReadFile(dir_->Path("prometheus.log")), '\n');
  const size_t from = lines.size() > 30 ? lines.size() - 30 : 0;
  return absl::StrJoin(lines.begin() + static_cast<std::ptrdiff_t>(from), lines.end(), "\n");
}

absl::StatusOr<std::string> PrometheusProcess::Targets() {
  absl::StatusOr<HttpResponse> response = HttpGet(port_, "/api/v1/targets");
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::InternalError(
        absl::StrCat("targets: HTTP ", response->status, ": ", response->body));
  }
  return response->body;
}

absl::StatusOr<std::optional<double>> PrometheusProcess::QueryScalar(absl::string_view promql) {
  absl::StatusOr<HttpResponse> response =
      HttpGet(port_, absl::StrCat("/api/v1/query?query=", UrlEncode(promql)));
  if (!response.ok()) return response.status();
  if (response->status != 200 ||
      response->body.find("\"status\":\"success\"") == std::string::npos) {
    return absl::InternalError(
        absl::StrCat("query ", promql, ": HTTP ", response->status, ": ", response->body));
  }
  // {"status":"success","data":{"resultType":"vector","result":[
  //   {"metric":{...},"value":[<unix time>,"<value>"]}]}}
  static const std::regex kValue(R"re("value":\[[^,\]]+,"([^"]+)"\])re");
  std::smatch match;
  if (!std::regex_search(response->body, match, kValue)) return std::optional<double>();
  double value = 0;
  if (!absl::SimpleAtod(match[1].str(), &value)) {
    return absl::InternalError(absl::StrCat("unreadable value in ", response->body));
  }
  return std::optional<double>(value);
}

}  // namespace surge::testing
