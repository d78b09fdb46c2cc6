// A size-limited tmpfs mounted on a directory for the life of the object
// (disk-full tests). Needs the right to mount (root / CAP_SYS_ADMIN); Mount
// reports PERMISSION_DENIED-like errors so a test can skip where CI forbids
// it. The destructor always unmounts (lazily, so open files cannot block it).
//
//   TmpfsMount mount;
//   absl::Status st = mount.Mount(dir.Path("small"), 16 << 20);
//   if (!st.ok()) GTEST_SKIP() << st;
//   ... fill it ...; mount.Resize(64 << 20);
//
// Not thread-safe (one owner).
#ifndef SURGE_TESTS_FAULTS_TMPFS_MOUNT_H_
#define SURGE_TESTS_FAULTS_TMPFS_MOUNT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace surge::faults {

class TmpfsMount {
 public:
  TmpfsMount() = default;
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  ~TmpfsMount();

  // Creates `path` when missing and mounts a tmpfs of `bytes` on it.
  absl::Status Mount(const std::string& path, uint64_t bytes);
  // Changes the size in place (remount); the files stay.
  absl::Status Resize(uint64_t bytes);

  const std::string& path() const { return path_; }

 private:
  std::string path_;  // empty when nothing is mounted
};

}  // namespace surge::faults

#endif  // SURGE_TESTS_FAULTS_TMPFS_MOUNT_H_
