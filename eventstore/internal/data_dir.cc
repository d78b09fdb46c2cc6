#include "eventstore/internal/data_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace surge::eventstore::internal {
namespace {

namespace fs = std::filesystem;

absl::Status FsError(absl::string_view what, const std::string& path, const std::error_code& ec) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", ec.message()));
}

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// fsyncs a file or directory so a rename or a new file survives a crash.
absl::Status SyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", path);
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return ErrnoError("fsync", path);
  return absl::OkStatus();
}

// Writes FORMAT through a temporary file and a rename, so a crash never
// leaves a half-written FORMAT behind.
absl::Status WriteFormatFile(const std::string& dir, int version) {
  const std::string final_path = (fs::path(dir) / kFormatFileName).string();
  const std::string tmp_path = final_path + ".tmp";
  {
    std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
    out << FormatFileContents(version);
    out.flush();
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp_path));
  }
  SURGE_RETURN_IF_ERROR(SyncPath(tmp_path));
  std::error_code ec;
  fs::rename(tmp_path, final_path, ec);
  if (ec) return FsError("rename to", final_path, ec);
  return SyncPath(dir);
}

absl::Status CheckFormatFile(const std::string& format_path, int version) {
  std::ifstream in(format_path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", format_path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string contents = buffer.str();
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(contents), ' ', absl::SkipEmpty());
  int found = 0;
  if (parts.size() != 2 || parts[0] != kFormatTag || !absl::SimpleAtoi(parts[1], &found)) {
    return absl::FailedPreconditionError(
        absl::StrCat(format_path, " is not a surge format file (expected \"", kFormatTag, " ",
                     version, "\", found \"", absl::CHexEscape(contents.substr(0, 64)), "\")"));
  }
  if (found != version) {
    return absl::FailedPreconditionError(
        absl::StrCat(format_path, " says data format version ", found,
                     " but this build reads and writes version ", version));
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatFileContents(int version) { return absl::StrCat(kFormatTag, " ", version, "\n"); }

absl::StatusOr<std::string> PrepareDataDir(const std::string& path, bool create_if_missing,
                                           int version) {
  std::error_code ec;
  const std::string log_dir = (fs::path(path) / kLogDirName).string();
  const std::string format_path = (fs::path(path) / kFormatFileName).string();

  const bool exists = fs::exists(path, ec);
  if (ec) return FsError("stat", path, ec);
  if (exists && !fs::is_directory(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a directory"));
  }
  if (exists && fs::exists(format_path, ec)) {
    SURGE_RETURN_IF_ERROR(CheckFormatFile(format_path, version));
    return log_dir;
  }
  if (exists && !fs::is_empty(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is not empty but has no ", kFormatFileName,
        " file: refusing to use it as a surge data dir (format version ", version, ")"));
  }
  if (!create_if_missing) {
    return absl::NotFoundError(
        absl::StrCat("no surge data dir at ", path, " (create_if_missing is false)"));
  }
  if (!exists) {
    fs::create_directories(path, ec);
    if (ec) return FsError("create directory", path, ec);
  }
  // FORMAT goes first: a crash before RocksDB exists leaves a valid, empty
  // store rather than an unclaimed non-empty dir.
  SURGE_RETURN_IF_ERROR(WriteFormatFile(path, version));
  return log_dir;
}

}  // namespace surge::eventstore::internal
