#include "tests/faults/dev_broker_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace surge::faults {

DevBrokerProcess::~DevBrokerProcess() {
  if (to_child_ >= 0) ::close(to_child_);
  if (from_child_ >= 0) ::close(from_child_);
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));  // polling a child's exit
  }
}

absl::Status DevBrokerProcess::Start(const std::string& binary, int partitions,
                                     absl::Duration timeout) {
  int in[2], out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) return absl::InternalError("pipe failed");
  const std::string partitions_flag = absl::StrCat("--partitions=", partitions);
  pid_ = ::fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::close(in[0]);
    ::close(in[1]);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(binary.c_str(), binary.c_str(), "--stdin_control", partitions_flag.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_child_ = in[1];
  from_child_ = out[0];
  std::string line;
  if (!ReadLine(absl::Now() + timeout, &line)) {
    return absl::DeadlineExceededError("surge-kafka-dev printed no bootstrap line");
  }
  absl::string_view rest(line);
  if (!absl::ConsumePrefix(&rest, "bootstrap=") || rest.empty()) {
    return absl::InternalError(absl::StrCat("unexpected first line \"", line, "\""));
  }
  bootstrap_ = std::string(rest);
  return absl::OkStatus();
}

bool DevBrokerProcess::ReadLine(absl::Time deadline, std::string* line) {
  while (true) {
    const size_t nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      *line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return true;
    }
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return false;
    pollfd pfd{from_child_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(ms));
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    char buf[1024];
    const ssize_t n = ::read(from_child_, buf, sizeof(buf));
    if (n <= 0) return false;
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

absl::Status DevBrokerProcess::Command(absl::string_view line, absl::Duration timeout) {
  const std::string text = absl::StrCat(line, "\n");
  if (::write(to_child_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return absl::UnavailableError("cannot write to surge-kafka-dev");
  }
  std::string answer;
  if (!ReadLine(absl::Now() + timeout, &answer)) {
    return absl::DeadlineExceededError(absl::StrCat("no answer to \"", line, "\""));
  }
  if (answer == "ok") return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("\"", line, "\": ", answer));
}

}  // namespace surge::faults
