// A fresh directory under $TEST_TMPDIR (or /tmp), removed with everything in
// it when the object goes away. For tests that need a data dir.
//
//   TempDir dir;
//   auto store = EventStore::Open(options, dir.Path("data"));
//
// Not thread-safe (one owner).
#ifndef SURGE_TESTS_SUPPORT_TEMP_DIR_H_
#define SURGE_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>

namespace surge::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name (not created).
  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace surge::testing

#endif  // SURGE_TESTS_SUPPORT_TEMP_DIR_H_
