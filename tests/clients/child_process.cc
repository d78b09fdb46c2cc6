#include "tests/clients/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace surge::testing {
namespace {

std::vector<std::string> BuildEnv(
    const std::map<std::string, std::optional<std::string>>& overrides) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : overrides) {
    if (v.has_value()) {
      vars[k] = *v;
    } else {
      vars.erase(k);
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : vars) out.push_back(absl::StrCat(k, "=", v));
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::unique_ptr<ChildProcess> ChildProcess::Start(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::optional<std::string>>& env) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    std::perror("pipe2");
    std::abort();
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // The child must not inherit a blocked SIGTERM/SIGINT from the test's threads.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> args = argv;
  std::vector<std::string> envs = BuildEnv(env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(envs);
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess());
  int rc = posix_spawn(&child->pid_, c_args[0], &actions, &attr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    std::fprintf(stderr, "cannot start %s: %s\n", argv[0].c_str(), std::strerror(rc));
    std::abort();
  }
  ChildProcess* self = child.get();
  self->out_reader_ = std::thread(&ChildProcess::ReadLoop, self, out_pipe[0], &self->out_);
  self->err_reader_ = std::thread(&ChildProcess::ReadLoop, self, err_pipe[0], &self->err_);
  return child;
}

void ChildProcess::ReadLoop(int fd, std::string* buffer) {
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    absl::MutexLock lock(&mu_);
    buffer->append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  absl::MutexLock lock(&mu_);
  --open_streams_;
}

ChildProcess::~ChildProcess() {
  if (!exit_code_.has_value() && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
}

bool ChildProcess::WaitFor(const std::string* buffer, const std::string& needle,
                           absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return buffer->find(needle) != std::string::npos;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&found), timeout);
}

bool ChildProcess::WaitForStdout(const std::string& needle, absl::Duration timeout) {
  return WaitFor(&out_, needle, timeout);
}

bool ChildProcess::WaitForStderr(const std::string& needle, absl::Duration timeout) {
  return WaitFor(&err_, needle, timeout);
}

void ChildProcess::Signal(int sig) {
  if (!exit_code_.has_value()) kill(pid_, sig);
}

int ChildProcess::Wait(absl::Duration timeout) {
  if (exit_code_.has_value()) return *exit_code_;
  // Both pipes close when the child exits (or when it closes them); then
  // reap it. A child that overruns is killed.
  bool closed;
  {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_streams_ == 0; };
    closed = mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  if (!closed) kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = (closed && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  if (out_reader_.joinable()) out_reader_.join();
  if (err_reader_.joinable()) err_reader_.join();
  return *exit_code_;
}

std::string ChildProcess::out() {
  absl::MutexLock lock(&mu_);
  return out_;
}

std::string ChildProcess::err() {
  absl::MutexLock lock(&mu_);
  return err_;
}

RunResult RunProcess(const std::vector<std::string>& argv,
                     const std::map<std::string, std::optional<std::string>>& env,
                     absl::Duration timeout) {
  std::unique_ptr<ChildProcess> child = ChildProcess::Start(argv, env);
  RunResult result;
  result.exit_code = child->Wait(timeout);
  result.out = child->out();
  result.err = child->err();
  return result;
}

}  // namespace surge::testing
