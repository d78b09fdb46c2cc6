#include "eventstore/internal/rocks_event_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "common/thread_name.h"
#include "eventstore/internal/data_dir.h"
#include "eventstore/internal/keys.h"
#include "eventstore/internal/rocks_status.h"
#include "eventstore/internal/subscription.h"
#include "rocksdb/iterator.h"

namespace surge::eventstore::internal {
namespace {

// Streams whose committed version the appender keeps in memory; beyond it
// the cache restarts empty and misses cost one reverse seek each.
constexpr size_t kVersionCacheCapacity = 1 << 20;

// Per-event overhead of the stream index entry and keys, for the byte budget.
constexpr size_t kEventOverheadBytes = 64;

rocksdb::Slice ToSlice(const std::string& s) { return rocksdb::Slice(s.data(), s.size()); }

size_t EstimateBytes(const AppendRequest& request) {
  size_t bytes = request.idempotency_key.size() + request.fingerprint.size() + request.reply.size();
  for (const v1::Event& event : request.events) {
    bytes += event.ByteSizeLong() + event.stream_id().size() + kEventOverheadBytes;
  }
  for (const ExtraWrite& write : request.extra_writes) {
    bytes += write.key.size() + (write.value.has_value() ? write.value->size() : 0);
  }
  return bytes;
}

// Head restored at Open from the last key of the events CF: O(1), no replay.
absl::StatusOr<uint64_t> ReadHead(const RocksDb& db) {
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), db.events()));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "seek last event");
  if (!it->Valid()) return 0;
  if (it->key().size() != 8) {
    return absl::DataLossError(
        absl::StrCat("malformed events key of ", it->key().size(), " bytes"));
  }
  return DecodeBigEndian64(absl::string_view(it->key().data(), 8));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksEventStore>> RocksEventStore::Open(const Options& options,
                                                                       const std::string& path,
                                                                       rocksdb::Env* env) {
  if (options.queue_capacity == 0 || options.max_batch_appends == 0) {
    return absl::InvalidArgumentError("queue_capacity and max_batch_appends must be positive");
  }
  SURGE_ASSIGN_OR_RETURN(std::string log_dir,
                         PrepareDataDir(path, options.create_if_missing, kDataFormatVersion));
  SURGE_ASSIGN_OR_RETURN(std::unique_ptr<RocksDb> db, RocksDb::Open(options, log_dir, env));
  SURGE_ASSIGN_OR_RETURN(uint64_t head, ReadHead(*db));
  SURGE_LOG(INFO, "eventstore") << "opened " << path << " at head position " << head;
  return std::unique_ptr<RocksEventStore>(new RocksEventStore(options, std::move(db), head));
}

RocksEventStore::RocksEventStore(const Options& options, std::unique_ptr<RocksDb> db, uint64_t head)
    : options_(options),
      db_(std::move(db)),
      head_(std::make_shared<HeadState>(head)),
      queue_(options.queue_capacity, options.queue_capacity_bytes),
      next_position_(head + 1),
      versions_(kVersionCacheCapacity) {
  appender_ = std::thread([this] {
    SetCurrentThreadName("surge-append");
    AppenderLoop();
  });
}

RocksEventStore::~RocksEventStore() {
  // New appends now fail with UNAVAILABLE; the appender drains and answers
  // everything already queued, then exits.
  queue_.Close();
  appender_.join();
  // Cancels waiting subscriptions and waits until none is reading.
  head_->Close();
  // db_ is destroyed last, syncing the WAL and closing RocksDB.
}

absl::Status RocksEventStore::Validate(const AppendRequest& request) const {
  for (const v1::Event& event : request.events) {
    if (event.stream_id().empty()) return absl::InvalidArgumentError("event without stream_id");
    if (absl::StrContains(event.stream_id(), absl::string_view("\0", 1))) {
      return absl::InvalidArgumentError("stream_id must not contain NUL");
    }
    if (event.payload_case() == v1::Event::PAYLOAD_NOT_SET) {
      return absl::InvalidArgumentError(
          absl::StrCat("event of stream '", event.stream_id(), "' has no payload"));
    }
  }
  for (const auto& [stream_id, expected] : request.expected_versions) {
    if (expected < kAnyVersion) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid expected version ", expected, " for stream '", stream_id, "'"));
    }
  }
  for (const ExtraWrite& write : request.extra_writes) {
    if (write.column_family == kEventsCf || write.column_family == kStreamsCf ||
        write.column_family == kIdempotencyCf) {
      return absl::InvalidArgumentError(absl::StrCat(
          "extra writes may not touch the store's own column family '", write.column_family, "'"));
    }
    if (db_->Cf(write.column_family) == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("extra write to unknown column family '", write.column_family, "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AppendResult> RocksEventStore::Append(AppendRequest request) {
  // A blocking Append from an AppendAsync callback would wait for the very
  // thread that runs it: refuse instead of deadlocking.
  if (std::this_thread::get_id() == appender_.get_id()) {
    return absl::FailedPreconditionError(
        "blocking Append called from an AppendAsync callback (the appender thread); use "
        "AppendAsync there");
  }
  absl::Notification done;
  absl::StatusOr<AppendResult> result;
  AppendAsync(std::move(request), [&](absl::StatusOr<AppendResult> r) {
    result = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

void RocksEventStore::AppendAsync(AppendRequest request, AppendCallback done) {
  if (absl::Status status = Validate(request); !status.ok()) {
    done(status);
    return;
  }
  PendingAppend pending;
  pending.bytes = EstimateBytes(request);
  pending.request = std::move(request);
  pending.done = std::move(done);
  absl::Status status = queue_.Push(std::move(pending));
  if (status.ok()) return;
  if (absl::IsResourceExhausted(status)) {
    absl::MutexLock lock(&mu_);
    ++stats_.rejected_queue_full;
  }
  // Push leaves `pending` intact when it refuses it.
  pending.done(status);
}

void RocksEventStore::AppenderLoop() {
  while (true) {
    std::vector<PendingAppend> batch =
        queue_.TakeBatch(options_.max_batch_appends, options_.max_batch_bytes);
    if (batch.empty()) return;  // closed and drained
    ProcessBatch(batch);
  }
}

void RocksEventStore::ProcessBatch(std::vector<PendingAppend>& batch) {
  BatchBuilder builder(*db_, versions_, next_position_, options_.node_id, absl::Now(),
                       options_.event_id_prefix);
  std::vector<absl::StatusOr<AppendResult>> results;
  results.reserve(batch.size());
  for (PendingAppend& pending : batch) results.push_back(builder.Add(pending.request));

  bool committed = false;
  absl::Duration commit_time;
  if (builder.has_writes()) {
    const absl::Time start = absl::Now();
    absl::Status status = db_->Write(builder.batch(), options_.durability == Durability::kSync);
    commit_time = absl::Now() - start;
    if (status.ok()) {
      committed = true;
      builder.Commit();
      next_position_ = builder.next_position();
      head_->Publish(next_position_ - 1);
    } else {
      // Nothing of the batch is in the log: every answer that was going to
      // be a success fails, and next_position_ and the version cache stay
      // as they were, so positions remain contiguous.
      SURGE_LOG(ERROR, "eventstore")
          << "batch of " << batch.size() << " appends failed: " << status;
      for (auto& result : results) {
        if (result.ok()) result = absl::UnavailableError(status.message());
      }
    }
  }

  BatchObserver observer;
  {
    absl::MutexLock lock(&mu_);
    if (!committed && builder.has_writes()) ++stats_.write_errors;
    if (committed) {
      ++stats_.batches;
      stats_.appends += builder.appends();
      stats_.events += builder.events();
      stats_.last_batch_appends = batch.size();
      observer = observer_;
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
  if (observer) observer(batch.size(), commit_time);
}

absl::StatusOr<v1::Event> RocksEventStore::ReadEvent(uint64_t position) const {
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> value,
                         db_->Get(db_->events(), PositionKey(position)));
  if (!value.has_value()) {
    return absl::DataLossError(absl::StrCat("event at position ", position, " is missing"));
  }
  v1::Event event;
  if (!event.ParseFromString(*value)) {
    return absl::DataLossError(absl::StrCat("unparsable event at position ", position));
  }
  return event;
}

absl::StatusOr<std::vector<v1::Event>> RocksEventStore::ReadAll(uint64_t from_position,
                                                                size_t max_count) {
  std::vector<v1::Event> events;
  from_position = std::max<uint64_t>(from_position, 1);
  const uint64_t head = head_->head();
  if (from_position > head || max_count == 0) return events;

  // Stop at the published head: an event past it may belong to a batch
  // whose callers have not been answered yet.
  const std::string upper = PositionKey(head + 1);
  const rocksdb::Slice upper_slice = ToSlice(upper);
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(read_options, db_->events()));
  for (it->Seek(ToSlice(PositionKey(from_position))); it->Valid() && events.size() < max_count;
       it->Next()) {
    v1::Event event;
    if (!event.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("unparsable event at position ",
                       DecodeBigEndian64(absl::string_view(it->key().data(), it->key().size()))));
    }
    events.push_back(std::move(event));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "read log");
  return events;
}

absl::StatusOr<std::vector<v1::Event>> RocksEventStore::ReadStream(const std::string& stream_id,
                                                                   int64_t from_version,
                                                                   size_t max_count) {
  std::vector<v1::Event> events;
  const uint64_t head = head_->head();
  const std::string prefix = StreamPrefix(stream_id);
  std::vector<uint64_t> positions;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db()->NewIterator(rocksdb::ReadOptions(), db_->streams()));
    for (it->Seek(ToSlice(StreamKey(stream_id, std::max<int64_t>(from_version, 0))));
         it->Valid() && positions.size() < max_count; it->Next()) {
      const absl::string_view key(it->key().data(), it->key().size());
      if (!absl::StartsWith(key, prefix)) break;
      if (it->value().size() != 8) {
        return absl::DataLossError(
            absl::StrCat("malformed stream index entry of '", stream_id, "'"));
      }
      const uint64_t position = DecodeBigEndian64(absl::string_view(it->value().data(), 8));
      if (position > head) break;  // not yet published
      positions.push_back(position);
    }
    if (!it->status().ok()) return FromRocks(it->status(), "read stream");
  }
  events.reserve(positions.size());
  for (uint64_t position : positions) {
    SURGE_ASSIGN_OR_RETURN(v1::Event event, ReadEvent(position));
    events.push_back(std::move(event));
  }
  return events;
}

absl::StatusOr<int64_t> RocksEventStore::StreamVersion(const std::string& stream_id) {
  return ReadStreamVersion(*db_, stream_id);
}

uint64_t RocksEventStore::HeadPosition() const { return head_->head(); }

bool RocksEventStore::WaitForHead(uint64_t position, absl::Time deadline) const {
  return head_->WaitFor(position, deadline);
}

std::unique_ptr<Subscription> RocksEventStore::Subscribe(uint64_t from_position) {
  return std::make_unique<LogSubscription>(this, head_, from_position);
}

absl::StatusOr<std::optional<std::string>> RocksEventStore::Get(const std::string& cf,
                                                                const std::string& key) {
  rocksdb::ColumnFamilyHandle* handle = db_->Cf(cf);
  if (handle == nullptr)
    return absl::NotFoundError(absl::StrCat("unknown column family '", cf, "'"));
  return db_->Get(handle, key);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RocksEventStore::Scan(
    const std::string& cf, const std::string& prefix, size_t limit) {
  rocksdb::ColumnFamilyHandle* handle = db_->Cf(cf);
  if (handle == nullptr)
    return absl::NotFoundError(absl::StrCat("unknown column family '", cf, "'"));
  std::vector<std::pair<std::string, std::string>> rows;
  std::unique_ptr<rocksdb::Iterator> it(db_->db()->NewIterator(rocksdb::ReadOptions(), handle));
  for (it->Seek(ToSlice(prefix)); it->Valid() && rows.size() < limit; it->Next()) {
    if (!it->key().starts_with(ToSlice(prefix))) break;
    rows.emplace_back(it->key().ToString(), it->value().ToString());
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan " + cf);
  return rows;
}

absl::StatusOr<std::optional<AppendResult>> RocksEventStore::LookupIdempotencyKey(
    const std::string& key) {
  SURGE_ASSIGN_OR_RETURN(std::optional<std::string> stored, db_->Get(db_->idempotency(), key));
  if (!stored.has_value()) return std::optional<AppendResult>();
  SURGE_ASSIGN_OR_RETURN(AppendResult result, ParseIdempotencyRecord(key, *stored));
  return std::optional<AppendResult>(std::move(result));
}

EventStore::Stats RocksEventStore::GetStats() const {
  Stats stats;
  {
    absl::MutexLock lock(&mu_);
    stats = stats_;
  }
  stats.queue_depth = queue_.size();
  stats.memtable_bytes = db_->MemtableBytes();
  stats.block_cache_bytes = db_->BlockCacheBytes();
  stats.table_readers_bytes = db_->TableReadersBytes();
  stats.background = db_->BackgroundWork();
  return stats;
}

void RocksEventStore::SetBatchObserver(BatchObserver observer) {
  absl::MutexLock lock(&mu_);
  observer_ = std::move(observer);
}

}  // namespace surge::eventstore::internal
