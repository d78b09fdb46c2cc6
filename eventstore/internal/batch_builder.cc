#include "eventstore/internal/batch_builder.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "eventstore/internal/conflict.h"
#include "eventstore/internal/keys.h"
#include "eventstore/internal/rocks_status.h"
#include "surge/v1/internal.pb.h"

namespace surge::eventstore::internal {
namespace {

rocksdb::Slice ToSlice(const std::string& s) { return rocksdb::Slice(s.data(), s.size()); }

absl::Status FingerprintMismatch(const std::string& key) {
  return absl::FailedPreconditionError(
      absl::StrCat("idempotency key '", key,
                   "' was already used for a different command (fingerprint differs)"));
}

}  // namespace

absl::StatusOr<AppendResult> ParseIdempotencyRecord(absl::string_view key,
                                                    const std::string& stored) {
  surge::internal::IdempotencyRecord record;
  if (!record.ParseFromString(stored)) {
    return absl::DataLossError(absl::StrCat("unparsable idempotency record for key '", key, "'"));
  }
  AppendResult result;
  result.first_position = record.first_position();
  result.last_position = record.last_position();
  result.event_ids.assign(record.event_ids().begin(), record.event_ids().end());
  result.reply = record.reply();
  result.duplicate = true;
  return result;
}

absl::StatusOr<int64_t> ReadStreamVersion(const RocksDb& db, const std::string& stream_id) {
  // Versions start at 0 and have no holes, so a stream without version 0
  // does not exist. That point read (bloom-filtered) answers the common case
  // of a new stream, e.g. every new order, without an iterator and a
  // reverse seek over the memtable and every SST.
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> first,
                         db.Get(db.streams(), StreamKey(stream_id, 0)));
  if (!first.has_value()) return kNoStream;
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), db.streams()));
  it->SeekForPrev(ToSlice(StreamUpperKey(stream_id)));
  if (!it->status().ok()) return FromRocks(it->status(), "seek stream version");
  if (!it->Valid()) return kNoStream;
  std::optional<int64_t> version =
      ParseStreamKeyVersion(absl::string_view(it->key().data(), it->key().size()), stream_id);
  return version.has_value() ? *version : kNoStream;
}

absl::StatusOr<int64_t> StreamVersionCache::Get(const RocksDb& db, const std::string& stream_id) {
  auto it = versions_.find(stream_id);
  if (it != versions_.end()) return it->second;
  SURGE_ASSIGN_OR_RETURN(int64_t version, ReadStreamVersion(db, stream_id));
  Put(stream_id, version);
  return version;
}

void StreamVersionCache::Put(const std::string& stream_id, int64_t version) {
  if (versions_.size() >= capacity_ && versions_.find(stream_id) == versions_.end()) {
    versions_.clear();
  }
  versions_[stream_id] = version;
}

BatchBuilder::BatchBuilder(const RocksDb& db, StreamVersionCache& versions, uint64_t next_position,
                           std::string node_id, absl::Time now, std::string event_id_prefix)
    : db_(db),
      committed_(versions),
      next_position_(next_position),
      node_id_(std::move(node_id)),
      event_id_prefix_(event_id_prefix.empty() ? node_id_ : std::move(event_id_prefix)),
      now_(now) {}

absl::StatusOr<int64_t> BatchBuilder::CurrentVersion(const std::string& stream_id) {
  auto it = batch_versions_.find(stream_id);
  if (it != batch_versions_.end()) return it->second;
  return committed_.Get(db_, stream_id);
}

absl::StatusOr<AppendResult> BatchBuilder::CheckIdempotency(const AppendRequest& request,
                                                            bool* found) {
  *found = false;
  const std::string& key = request.idempotency_key;
  if (key.empty()) return AppendResult();
  if (auto it = batch_keys_.find(key); it != batch_keys_.end()) {
    const std::string& fingerprint = it->second.first;
    if (!fingerprint.empty() && !request.fingerprint.empty() &&
        fingerprint != request.fingerprint) {
      return FingerprintMismatch(key);
    }
    *found = true;
    AppendResult result = it->second.second;
    result.duplicate = true;
    return result;
  }
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> stored, db_.Get(db_.idempotency(), key));
  if (!stored.has_value()) return AppendResult();
  surge::internal::IdempotencyRecord record;
  if (!record.ParseFromString(*stored)) {
    return absl::DataLossError(absl::StrCat("unparsable idempotency record for key '", key, "'"));
  }
  if (!record.fingerprint().empty() && !request.fingerprint.empty() &&
      record.fingerprint() != request.fingerprint) {
    return FingerprintMismatch(key);
  }
  *found = true;
  return ParseIdempotencyRecord(key, *stored);
}

absl::StatusOr<AppendResult> BatchBuilder::Add(AppendRequest& request) {
  bool duplicate = false;
  SURGE_ASSIGN_OR_RETURN(AppendResult answer, CheckIdempotency(request, &duplicate));
  if (duplicate) return answer;

  // Expected versions are all checked before anything is staged, so a
  // conflict leaves the batch untouched.
  for (const auto& [stream_id, expected] : request.expected_versions) {
    if (expected == kAnyVersion) continue;
    SURGE_ASSIGN_OR_RETURN(int64_t current, CurrentVersion(stream_id));
    const bool ok = expected == kNoStream ? current == kNoStream : current == expected;
    if (!ok) return ConflictError(stream_id, expected, current);
  }

  // Versions this append moves, merged into batch_versions_ only on success.
  std::unordered_map<std::string, int64_t> versions;
  AppendResult result;
  result.reply = request.reply;
  uint64_t position = next_position_;
  const int64_t now_micros = absl::ToUnixMicros(now_);

  // Resolve every stream's current version before staging anything: a read
  // error must not leave half an append in the batch.
  for (const v1::Event& event : request.events) {
    if (versions.count(event.stream_id()) != 0) continue;
    SURGE_ASSIGN_OR_RETURN(int64_t current, CurrentVersion(event.stream_id()));
    versions.emplace(event.stream_id(), current);
  }

  batch_.SetSavePoint();
  auto fail = [this](const rocksdb::Status& status) {
    batch_.RollbackToSavePoint();
    return FromRocks(status, "stage write batch");
  };
  for (v1::Event& event : request.events) {
    const int64_t version = ++versions[event.stream_id()];
    event.set_position(position);
    event.set_stream_version(version);
    if (event.event_id().empty()) event.set_event_id(absl::StrCat(event_id_prefix_, ":", position));
    event.set_node_id(node_id_);
    event.mutable_recorded_at()->set_seconds(now_micros / 1000000);
    event.mutable_recorded_at()->set_nanos(static_cast<int32_t>(now_micros % 1000000) * 1000);

    const std::string position_key = PositionKey(position);
    rocksdb::Status status =
        batch_.Put(db_.events(), ToSlice(position_key), ToSlice(event.SerializeAsString()));
    if (status.ok()) {
      status = batch_.Put(db_.streams(), ToSlice(StreamKey(event.stream_id(), version)),
                          ToSlice(position_key));
    }
    if (!status.ok()) return fail(status);
    if (result.first_position == 0) result.first_position = position;
    result.last_position = position;
    result.event_ids.push_back(event.event_id());
    ++position;
  }

  if (!request.idempotency_key.empty()) {
    surge::internal::IdempotencyRecord record;
    record.set_fingerprint(request.fingerprint);
    record.set_first_position(result.first_position);
    record.set_last_position(result.last_position);
    for (const std::string& id : result.event_ids) record.add_event_ids(id);
    record.set_reply(request.reply);
    record.set_recorded_at_unix_micros(now_micros);
    rocksdb::Status status = batch_.Put(db_.idempotency(), ToSlice(request.idempotency_key),
                                        ToSlice(record.SerializeAsString()));
    if (!status.ok()) return fail(status);
  }

  for (const ExtraWrite& write : request.extra_writes) {
    // The column family was validated when the append was queued.
    rocksdb::ColumnFamilyHandle* cf = db_.Cf(write.column_family);
    rocksdb::Status status = write.value.has_value()
                                 ? batch_.Put(cf, ToSlice(write.key), ToSlice(*write.value))
                                 : batch_.Delete(cf, ToSlice(write.key));
    if (!status.ok()) return fail(status);
  }
  batch_.PopSavePoint().PermitUncheckedError();

  for (const auto& [stream_id, version] : versions) batch_versions_[stream_id] = version;
  next_position_ = position;
  if (!request.idempotency_key.empty()) {
    batch_keys_[request.idempotency_key] = {request.fingerprint, result};
  }
  ++appends_;
  events_ += request.events.size();
  return result;
}

void BatchBuilder::Commit() {
  for (const auto& [stream_id, version] : batch_versions_) committed_.Put(stream_id, version);
}

}  // namespace surge::eventstore::internal
