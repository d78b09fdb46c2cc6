#include "tests/ops/rules_prometheus.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/metrics/http_get.h"
#include "tests/ops/ops_files.h"

extern char** environ;

namespace surge::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// A port that was free a moment ago (bound to 0, read back, released);
// Start() retries with another one when Prometheus loses the race for it.
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

const Value* Field(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? nullptr : &it->second;
}

// A sample's value is ["<unix time>", "<value>"]; Prometheus writes NaN as "NaN".
bool IsNumber(const Value& pair) {
  if (pair.kind_case() != Value::kListValue || pair.list_value().values_size() != 2) return false;
  const Value& v = pair.list_value().values(1);
  return v.kind_case() == Value::kStringValue && v.string_value() != "NaN";
}

}  // namespace

bool RulesPrometheus::Installed() {
  return std::system("command -v prometheus >/dev/null 2>&1") == 0;
}

absl::StatusOr<std::unique_ptr<RulesPrometheus>> RulesPrometheus::Start(const Options& options) {
  if (options.target_port <= 0) return absl::InvalidArgumentError("target_port is required");
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<RulesPrometheus> prom(new RulesPrometheus(std::make_unique<TempDir>()));
    last = prom->Spawn(options);
    if (last.ok()) last = prom->WaitUntilReady(options.start_timeout);
    if (last.ok()) return prom;
  }
  return last;
}

absl::Status RulesPrometheus::Spawn(const Options& options) {
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  port_ = *port;
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
        << options.job
        << "'\n"
           "    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << options.target_port << "']\n";
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

absl::Status RulesPrometheus::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat("prometheus exited during start-up (a bad rule file?):\n", LogTail()));
    }
    absl::StatusOr<HttpResponse> ready = HttpGet(port_, "/-/ready", absl::Seconds(2));
    if (ready.ok() && ready->status == 200) return absl::OkStatus();
    // An external process: nothing to wait on but its HTTP port.
    absl::SleepFor(absl::Milliseconds(100));
  }
  Stop();
  return absl::DeadlineExceededError(absl::StrCat("prometheus not ready within ",
                                                  absl::FormatDuration(timeout), ":\n", LogTail()));
}

RulesPrometheus::~RulesPrometheus() { Stop(); }

void RulesPrometheus::Stop() {
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

std::string RulesPrometheus::LogTail() const {
  absl::StatusOr<std::string> text = ReadTextFile(dir_->Path("prometheus.log"));
  if (!text.ok()) return text.status().ToString();
  std::vector<std::string> lines = absl::StrSplit(*text, '\n');
  const size_t from = lines.size() > 30 ? lines.size() - 30 : 0;
  return absl::StrJoin(lines.begin() + static_cast<std::ptrdiff_t>(from), lines.end(), "\n");
}

absl::StatusOr<QueryResult> RulesPrometheus::Query(absl::string_view promql) {
  absl::StatusOr<HttpResponse> response =
      HttpGet(port_, absl::StrCat("/api/v1/query?query=", UrlEncode(promql)));
  if (!response.ok()) return response.status();
  if (response->status == 400 || response->status == 422) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP ", response->status, ": ", response->body));
  }
  if (response->status != 200) {
    return absl::InternalError(absl::StrCat("HTTP ", response->status, ": ", response->body));
  }
  absl::StatusOr<Struct> json = ParseJsonObject(response->body);
  if (!json.ok()) return json.status();
  const Value* data = Field(*json, "data");
  if (data == nullptr || data->kind_case() != Value::kStructValue) {
    return absl::InternalError(absl::StrCat("no data in ", response->body));
  }
  QueryResult result;
  result.body = response->body;
  if (const Value* type = Field(data->struct_value(), "resultType")) {
    result.result_type = type->string_value();
  }
  const Value* r = Field(data->struct_value(), "result");
  if (r == nullptr) return absl::InternalError(absl::StrCat("no result in ", response->body));
  if (result.result_type == "vector" && r->kind_case() == Value::kListValue) {
    for (const Value& sample : r->list_value().values()) {
      ++result.samples;
      const Value* value = sample.kind_case() == Value::kStructValue
                               ? Field(sample.struct_value(), "value")
                               : nullptr;
      if (value != nullptr && IsNumber(*value)) ++result.non_nan_samples;
    }
  } else if (result.result_type == "scalar") {
    result.samples = 1;
    if (IsNumber(*r)) result.non_nan_samples = 1;
  }
  return result;
}

absl::StatusOr<Struct> RulesPrometheus::Rules() {
  absl::StatusOr<HttpResponse> response = HttpGet(port_, "/api/v1/rules");
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::InternalError(
        absl::StrCat("rules: HTTP ", response->status, ": ", response->body));
  }
  absl::StatusOr<Struct> json = ParseJsonObject(response->body);
  if (!json.ok()) return json.status();
  const Value* data = Field(*json, "data");
  if (data == nullptr || data->kind_case() != Value::kStructValue) {
    return absl::InternalError(absl::StrCat("no data in ", response->body));
  }
  return data->struct_value();
}

}  // namespace surge::testing
