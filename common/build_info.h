// What `--version` prints for every surge binary: the project version (the
// VERSION in the root CMakeLists.txt's project() call) and the git commit the
// binary was built from (`git rev-parse --short HEAD`, read at build time by
// common/build_info.cmake; "unknown" outside a git checkout).
//
//   std::cout << surge::VersionLine("surge-server") << "\n";
//   // surge-server 0.1.0 (commit 5c57cef)
//
// Library surge_build_info; the root CMakeLists.txt links it into the four
// command-line binaries only, so a new commit relinks just those.
#ifndef SURGE_COMMON_BUILD_INFO_H_
#define SURGE_COMMON_BUILD_INFO_H_

#include <string>
#include <string_view>

namespace surge {

// "0.1.0".
const char* BuildVersion();
// "5c57cef", or "unknown".
const char* BuildCommit();
// "<program> <version> (commit <commit>)".
std::string VersionLine(std::string_view program);

}  // namespace surge

#endif  // SURGE_COMMON_BUILD_INFO_H_
