#include "tests/metrics/prometheus_process.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/metrics/http_get.h"
#include "tests/support/child_process.h"

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

}  // namespace

bool PrometheusProcess::Installed() {
  return std::system("command -v prometheus >/dev/null 2>&1") == 0;
}

absl::StatusOr<std::unique_ptr<PrometheusProcess>> PrometheusProcess::Start(
    const Options& options) {
  if (options.target_port <= 0 && !options.file_targets) {
    return absl::InvalidArgumentError("target_port (or file_targets) is required");
  }
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<PrometheusProcess> prom(new PrometheusProcess(std::make_unique<TempDir>()));
    last = prom->Spawn(options);
    if (last.ok()) last = prom->WaitUntilReady(options.start_timeout);
    if (last.ok()) return prom;
    // Most likely the port was taken meanwhile: try another one.
  }
  return last;
}

absl::Status PrometheusProcess::Spawn(const Options& options) {
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  port_ = *port;
  file_targets_ = options.file_targets;
  if (file_targets_) {
    if (absl::Status s = SetTargets({}); !s.ok()) return s;
  }
  const std::string config = dir_->Path("prometheus.yml");
  {
    std::ofstream out(config);
    out << "global:\n"
           "  scrape_interval: 1s\n"
           "  scrape_timeout: 1s\n"
           "  evaluation_interval: 1s\n";
    if (!options.rule_files.empty()) {
      out << "rule_files:\n";
      for (const std::string& f : options.rule_files) out << "  - '" << f << "'\n";
    }
    out << "scrape_configs:\n"
           "  - job_name: '"
        << options.job << "'\n";
    if (options.file_targets) {
      out << "    file_sd_configs:\n"
             "      - files: ['"
          << dir_->Path("targets.json")
          << "']\n"
             "        refresh_interval: 1s\n";
    } else {
      out << "    static_configs:\n"
             "      - targets: ['127.0.0.1:"
          << options.target_port << "']\n";
    }
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", config));
  }
  const std::vector<std::string> argv = {
      "prometheus",
      absl::StrCat("--config.file=", config),
      absl::StrCat("--storage.tsdb.path=", dir_->Path("tsdb")),
      absl::StrCat("--web.listen-address=127.0.0.1:", port_),
  };
  absl::StatusOr<pid_t> pid =
      SpawnLogged(argv, dir_->Path("prometheus.log"), {.chdir = dir_->path(), .search_path = true});
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return absl::OkStatus();
}

absl::Status PrometheusProcess::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int wait_status = 0;
    if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(absl::StrCat("prometheus ", DescribeWaitStatus(wait_status),
                                                 " during start-up (a bad rule file?):\n",
                                                 LogTail()));
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
  StopChild(pid_, absl::Seconds(10));
  pid_ = -1;
}

std::string PrometheusProcess::LogTail() const {
  return LastLines(ReadFileOrEmpty(dir_->Path("prometheus.log")), 30);
}

absl::Status PrometheusProcess::SetTargets(const std::vector<int>& ports) {
  if (!file_targets_) return absl::FailedPreconditionError("started without file_targets");
  std::vector<std::string> targets;
  for (int port : ports) targets.push_back(absl::StrCat("\"127.0.0.1:", port, "\""));
  const std::string path = dir_->Path("targets.json");
  const std::string tmp = dir_->Path("targets.json.tmp");
  {
    std::ofstream out(tmp);
    out << "[{\"targets\": [" << absl::StrJoin(targets, ", ") << "]}]\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  // rename(2): Prometheus never reads a half-written file.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
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
