#include "tests/flood/server_pid.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace surge::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Field 4 of /proc/<pid>/stat; the command name (field 2) may hold spaces
// and parentheses, so parse after its last ')'.
pid_t ParentOf(const std::string& stat) {
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  int ppid = -1;
  if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &ppid)) return -1;
  return ppid;
}

}  // namespace

absl::StatusOr<pid_t> FindServerPid(const ServerProcess& server) {
  const std::string wanted = absl::StrCat("--data_dir=", server.data_dir());
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
  if (proc == nullptr) return absl::UnavailableError("cannot list /proc");
  const pid_t self = getpid();
  while (dirent* entry = readdir(proc.get())) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    const std::string base = absl::StrCat("/proc/", pid);
    if (ParentOf(ReadAll(base + "/stat")) != self) continue;
    // cmdline: NUL-separated arguments.
    for (absl::string_view arg : absl::StrSplit(ReadAll(base + "/cmdline"), '\0')) {
      if (arg == wanted) return static_cast<pid_t>(pid);
    }
  }
  return absl::NotFoundError(absl::StrCat("no child process runs with ", wanted));
}

}  // namespace surge::testing
