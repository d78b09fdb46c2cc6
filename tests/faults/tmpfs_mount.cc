#include "tests/faults/tmpfs_mount.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace surge::faults {

TmpfsMount::~TmpfsMount() {
  if (!path_.empty()) ::umount2(path_.c_str(), MNT_DETACH);
}

absl::Status TmpfsMount::Mount(const std::string& path, uint64_t bytes) {
  if (!path_.empty()) return absl::FailedPreconditionError("already mounted");
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("mkdir ", path, ": ", std::strerror(errno)));
  }
  const std::string data = absl::StrCat("size=", bytes, ",mode=0700");
  if (::mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
    const int err = errno;
    return absl::Status(
        err == EPERM ? absl::StatusCode::kPermissionDenied : absl::StatusCode::kUnavailable,
        absl::StrCat("mount -t tmpfs -o ", data, " ", path, ": ", std::strerror(err)));
  }
  path_ = path;
  return absl::OkStatus();
}

absl::Status TmpfsMount::Resize(uint64_t bytes) {
  if (path_.empty()) return absl::FailedPreconditionError("not mounted");
  const std::string data = absl::StrCat("size=", bytes);
  if (::mount(nullptr, path_.c_str(), nullptr, MS_REMOUNT | MS_NOSUID | MS_NODEV, data.c_str()) !=
      0) {
    return absl::InternalError(
        absl::StrCat("mount -o remount,", data, " ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace surge::faults
