// Key encodings of the event store's column families. Integers are
// big-endian so RocksDB's bytewise order is numeric order.
//
//   events:  PositionKey(position)             -> serialized v1::Event
//   streams: StreamKey(stream_id, version)     -> PositionKey(position)
//
// A stream key is the stream id, a '\0' separator, then the 8-byte version;
// stream ids therefore must not contain '\0' (checked at Append).
#ifndef SURGE_EVENTSTORE_INTERNAL_KEYS_H_
#define SURGE_EVENTSTORE_INTERNAL_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace surge::eventstore::internal {

std::string PositionKey(uint64_t position);

// Every key of one stream starts with this prefix.
std::string StreamPrefix(absl::string_view stream_id);

// Requires version >= 0.
std::string StreamKey(absl::string_view stream_id, int64_t version);

// The greatest possible key of a stream: the target of a reverse seek that
// finds the stream's current version.
std::string StreamUpperKey(absl::string_view stream_id);

// The version encoded in `key` if it is a key of `stream_id`, else nullopt.
std::optional<int64_t> ParseStreamKeyVersion(absl::string_view key, absl::string_view stream_id);

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_KEYS_H_
