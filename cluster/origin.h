// The origin of a node's log: "<node_id>~<16 hex>", where the hex part is
// created once per data dir (file <data_dir>/ORIGIN). Consumers deduplicate
// by (origin, position); a node that lost its disk and starts again with the
// same --node_id writes positions from 1 again, and its new origin keeps
// them from being taken for duplicates of its old life.
//
//   SURGE_ASSIGN_OR_RETURN(std::string origin, LoadOrCreateOrigin(dir, "n1"));
//
// Thread-compatible (file I/O only).
#ifndef SURGE_CLUSTER_ORIGIN_H_
#define SURGE_CLUSTER_ORIGIN_H_

#include <string>

#include "absl/status/statusor.h"

namespace surge::cluster {

inline constexpr char kOriginFileName[] = "ORIGIN";

// Reads <data_dir>/ORIGIN, or creates it (atomically). A file made for
// another node id is refused (FAILED_PRECONDITION): a data dir belongs to
// one node.
absl::StatusOr<std::string> LoadOrCreateOrigin(const std::string& data_dir,
                                               const std::string& node_id);

// The two halves of LoadOrCreateOrigin, for a caller that needs the origin
// before the data dir may hold other files (the event store claims a fresh
// dir first): reads <data_dir>/ORIGIN or makes a new origin without writing
// it; WriteOriginIfAbsent then writes it (atomically) unless present.
absl::StatusOr<std::string> ReadOrMakeOrigin(const std::string& data_dir,
                                             const std::string& node_id);
absl::Status WriteOriginIfAbsent(const std::string& data_dir, const std::string& origin);

}  // namespace surge::cluster

#endif  // SURGE_CLUSTER_ORIGIN_H_
