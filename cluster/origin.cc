#include "cluster/origin.h"

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace surge::cluster {

absl::StatusOr<std::string> ReadOrMakeOrigin(const std::string& data_dir,
                                             const std::string& node_id) {
  const std::string path = absl::StrCat(data_dir, "/", kOriginFileName);
  std::ifstream in(path);
  if (in) {
    std::stringstream contents;
    contents << in.rdbuf();
    std::string origin(absl::StripAsciiWhitespace(contents.str()));
    if (!absl::StartsWith(origin, absl::StrCat(node_id, "~"))) {
      return absl::FailedPreconditionError(absl::StrCat(path, " says this data dir belongs to '",
                                                        origin, "', not to node '", node_id, "'"));
    }
    return origin;
  }
  std::random_device random;
  const uint64_t id = (static_cast<uint64_t>(random()) << 32) ^ random();
  return absl::StrCat(node_id, "~", absl::StrFormat("%016x", id));
}

absl::Status WriteOriginIfAbsent(const std::string& data_dir, const std::string& origin) {
  const std::string path = absl::StrCat(data_dir, "/", kOriginFileName);
  if (std::ifstream(path)) return absl::OkStatus();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << origin << '\n';
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LoadOrCreateOrigin(const std::string& data_dir,
                                               const std::string& node_id) {
  absl::StatusOr<std::string> origin = ReadOrMakeOrigin(data_dir, node_id);
  if (!origin.ok()) return origin.status();
  if (absl::Status s = WriteOriginIfAbsent(data_dir, *origin); !s.ok()) return s;
  return origin;
}

}  // namespace surge::cluster
