// 8-byte big-endian counters for the projections' own rows (coupon holdings,
// applied positions). Same encoding as eventstore::EncodeBigEndian64, kept
// here so the pure handlers do not link the RocksDB store.
#ifndef SURGE_PROJECTIONS_INTERNAL_BIG_ENDIAN_H_
#define SURGE_PROJECTIONS_INTERNAL_BIG_ENDIAN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace surge::projections::internal {

inline std::string EncodeU64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

// nullopt unless exactly 8 bytes.
inline std::optional<uint64_t> DecodeU64(absl::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t value = 0;
  for (unsigned char c : bytes) value = (value << 8) | c;
  return value;
}

}  // namespace surge::projections::internal

#endif  // SURGE_PROJECTIONS_INTERNAL_BIG_ENDIAN_H_
