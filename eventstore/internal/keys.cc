#include "eventstore/internal/keys.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event_store.h"

namespace surge::eventstore::internal {

std::string PositionKey(uint64_t position) { return EncodeBigEndian64(position); }

std::string StreamPrefix(absl::string_view stream_id) {
  return absl::StrCat(stream_id, absl::string_view("\0", 1));
}

std::string StreamKey(absl::string_view stream_id, int64_t version) {
  return absl::StrCat(StreamPrefix(stream_id), EncodeBigEndian64(static_cast<uint64_t>(version)));
}

std::string StreamUpperKey(absl::string_view stream_id) {
  return absl::StrCat(StreamPrefix(stream_id), std::string(8, '\xff'));
}

std::optional<int64_t> ParseStreamKeyVersion(absl::string_view key, absl::string_view stream_id) {
  const size_t prefix_size = stream_id.size() + 1;
  if (key.size() != prefix_size + 8) return std::nullopt;
  if (!absl::StartsWith(key, stream_id) || key[stream_id.size()] != '\0') {
    return std::nullopt;
  }
  const uint64_t version = DecodeBigEndian64(key.substr(prefix_size));
  // Versions are written from non-negative int64 values only.
  if (version > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(version);
}

}  // namespace surge::eventstore::internal
