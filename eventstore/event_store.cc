// Free functions of the public contract, and the front door that hands
// Open() to the RocksDB implementation.
#include "eventstore/event_store.h"

#include "absl/strings/numbers.h"
#include "eventstore/internal/conflict.h"
#include "eventstore/internal/rocks_event_store.h"

namespace surge::eventstore {

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(const Options& options,
                                                             const std::string& path) {
  auto store = internal::RocksEventStore::Open(options, path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<EventStore>(std::move(store).value());
}

std::string EncodeBigEndian64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

uint64_t DecodeBigEndian64(absl::string_view bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

std::optional<int64_t> ConflictVersion(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kAborted) return std::nullopt;
  auto payload = status.GetPayload(internal::kConflictVersionTypeUrl);
  if (!payload.has_value()) return std::nullopt;
  int64_t version = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &version)) return std::nullopt;
  return version;
}

}  // namespace surge::eventstore
