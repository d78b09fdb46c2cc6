#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace surge::testing {
namespace {

// Between checks of a child's exit (there is no notification to wait on).
constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

// In the forked child: reports errno to the parent through `report` and
// exits. Async-signal-safe.
[[noreturn]] void FailInChild(int report) {
  const int err = errno;
  (void)!::write(report, &err, sizeof(err));
  ::_exit(127);
}

// In the forked child, before exec: async-signal-safe calls only. Errors go
// to the parent through `report` (close-on-exec, so an exec that works
// closes it with nothing written).
[[noreturn]] void ExecChild(char* const* argv, const char* log_path, const char* dir,
                            bool search_path, pid_t parent, int report) {
  // Die with the spawning thread; if the parent is already gone, now.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) FailInChild(report);
  if (::getppid() != parent) ::_exit(127);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE}) ::signal(sig, SIG_DFL);
  const int in = ::open("/dev/null", O_RDONLY);
  const int out = ::open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0) FailInChild(report);
  if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
      ::dup2(out, STDERR_FILENO) < 0) {
    FailInChild(report);
  }
  if (dir != nullptr && ::chdir(dir) != 0) FailInChild(report);
  if (search_path) {
    ::execvp(argv[0], argv);
  } else {
    ::execv(argv[0], argv);
  }
  FailInChild(report);
}

}  // namespace

absl::StatusOr<pid_t> SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path,
                                  const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("nothing to start");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(err)));
  }
  if (pid == 0) {
    ::close(report[0]);
    ExecChild(args.data(), log_path.c_str(),
              options.chdir.empty() ? nullptr : options.chdir.c_str(), options.search_path, parent,
              report[1]);
  }
  ::close(report[1]);
  int err = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(err))) {
    ::waitpid(pid, nullptr, 0);
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(err)));
  }
  return pid;
}

bool StopChild(pid_t pid, absl::Duration grace, int* wait_status) {
  if (pid <= 0) return true;
  int status = 0;
  ::kill(pid, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  bool exited = false;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      exited = true;
      break;
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(kPollInterval);
  }
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  if (wait_status != nullptr) *wait_status = status;
  return exited;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with code ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("was killed by signal ", WTERMSIG(wait_status));
  return absl::StrCat("ended with wait status ", wait_status);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string LastLines(const std::string& text, int lines) {
  std::deque<absl::string_view> last;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  return absl::StrJoin(last, "\n");
}

}  // namespace surge::testing
