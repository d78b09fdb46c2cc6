#include "eventstore/internal/rocks_db.h"

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "eventstore/internal/rocks_status.h"
#include "rocksdb/cache.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/table.h"

namespace surge::eventstore::internal {
namespace {

// RocksDB's own diagnostics go to surge's log, not to a LOG file in the data
// dir: on a full disk that file's writer fails, and Debian's librocksdb
// (built with assertions) aborts the whole process on the next line logged
// after the failure (WritableFileWriter, "sync_without_flush_called_"),
// which RocksDB itself logs while handling the write error. Only warnings
// and errors are kept: RocksDB's INFO chatter (options, every flush and
// compaction) would drown surge's log.
class RocksLogger : public rocksdb::Logger {
 public:
  RocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  void LogHeader(const char* /*format*/, va_list /*ap*/) override {}  // INFO-level banner
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buffer[2048];
    std::vsnprintf(buffer, sizeof(buffer), format, ap);
    // Most of RocksDB's formats end in "\n"; surge's log adds its own.
    const absl::string_view line = absl::StripTrailingAsciiWhitespace(buffer);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      SURGE_LOG(ERROR, "rocksdb") << line;
    } else {
      SURGE_LOG(WARNING, "rocksdb") << line;
    }
  }
};

}  // namespace

// Counts RocksDB's flushes and compactions for the store's stats (metrics)
// and logs each at DEBUG. RocksDB calls it from its background threads.
class BackgroundListener : public rocksdb::EventListener {
 public:
  void OnFlushCompleted(rocksdb::DB* /*db*/, const rocksdb::FlushJobInfo& info) override {
    const uint64_t bytes = info.table_properties.data_size + info.table_properties.index_size +
                           info.table_properties.filter_size;
    SURGE_LOG(DEBUG, "rocksdb") << "flushed " << info.cf_name << ": "
                                << info.table_properties.num_entries << " entries, " << bytes
                                << " bytes"
                                << (info.triggered_writes_stop       ? " (writes stopped)"
                                    : info.triggered_writes_slowdown ? " (writes slowed)"
                                                                     : "");
    absl::MutexLock lock(&mu_);
    ++stats_.flushes;
    stats_.flush_bytes += bytes;
    if (info.triggered_writes_slowdown || info.triggered_writes_stop) ++stats_.write_stalls;
  }

  void OnCompactionCompleted(rocksdb::DB* /*db*/, const rocksdb::CompactionJobInfo& info) override {
    SURGE_LOG(DEBUG, "rocksdb") << "compacted " << info.cf_name << " into L" << info.output_level
                                << ": " << info.stats.total_output_bytes << " bytes in "
                                << info.stats.elapsed_micros / 1000 << " ms ("
                                << info.stats.cpu_micros / 1000 << " ms CPU)";
    absl::MutexLock lock(&mu_);
    ++stats_.compactions;
    stats_.compaction_bytes += info.stats.total_output_bytes;
    stats_.compaction_seconds += static_cast<double>(info.stats.elapsed_micros) / 1e6;
    stats_.compaction_cpu_seconds += static_cast<double>(info.stats.cpu_micros) / 1e6;
  }

  EventStore::Stats::Background Get() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  mutable absl::Mutex mu_;
  EventStore::Stats::Background stats_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<RocksDb>> RocksDb::Open(const Options& options,
                                                       const std::string& dir, rocksdb::Env* env) {
  rocksdb::Options db_options;
  if (env != nullptr) db_options.env = env;
  db_options.create_if_missing = true;  // the data dir's FORMAT was checked already
  db_options.create_missing_column_families = true;
  db_options.info_log = std::make_shared<RocksLogger>();
  // A torn last WAL record (crash mid-write) is dropped; anything after a
  // real corruption is not silently skipped.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // A soft bound: RocksDB flushes early near it. Its stalling variant
  // (allow_stall) is known to wedge every writer for good when no flush is
  // scheduled, so writes are never made to wait on it.
  db_options.db_write_buffer_size = options.total_write_buffer_bytes;
  auto background = std::make_shared<BackgroundListener>();
  db_options.listeners.push_back(background);

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = options.write_buffer_bytes;
  rocksdb::BlockBasedTableOptions table_options;
  std::shared_ptr<rocksdb::Cache> block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table_options.block_cache = block_cache;
  // Most point reads on the command path are misses: a new request's
  // idempotency key, a new order's stream. Bloom filters (10 bits/key, ~1%
  // false positives) answer them without searching every SST; the memtable
  // filter does the same for the memtable's skiplist.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks live in the block cache, so memory stays within
  // block_cache_bytes however long the log grows. RocksDB's default keeps
  // them in each SST reader outside any bound: ~17 MiB after a million
  // commands and growing with every event. They are partitioned (4 KiB
  // pieces, loaded on demand) with the small top level pinned; L0's, the
  // newest and hottest, stay pinned; and they are cached with high priority
  // so data blocks are evicted first.
  table_options.cache_index_and_filter_blocks = true;
  table_options.cache_index_and_filter_blocks_with_high_priority = true;
  table_options.pin_l0_filter_and_index_blocks_in_cache = true;
  table_options.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table_options.partition_filters = true;
  table_options.pin_top_level_index_and_filter = true;
  cf_options.memtable_prefix_bloom_size_ratio = 0.02;
  cf_options.memtable_whole_key_filtering = true;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));

  std::set<std::string> names = {rocksdb::kDefaultColumnFamilyName, kEventsCf, kStreamsCf,
                                 kIdempotencyCf, kCheckpointsCf};
  names.insert(options.extra_column_families.begin(), options.extra_column_families.end());
  // RocksDB creates the database directory only after its constructor has
  // logged a summary of the files in it (DumpDBFileSummary), which logs
  // "Error when reading <dir> dir NotFound" at ERROR on every fresh data dir.
  // With its default info_log the LOG file's creation makes the directory
  // first; with ours nothing does, so create it here, as create_if_missing
  // would a moment later.
  rocksdb::Env* dir_env = env != nullptr ? env : rocksdb::Env::Default();
  if (rocksdb::Status created = dir_env->CreateDirIfMissing(dir); !created.ok()) {
    return FromRocks(created, "create " + dir);
  }

  std::vector<std::string> existing;
  // Fails for a database that does not exist yet; then only ours are created.
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    names.insert(existing.begin(), existing.end());
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, cf_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (!status.ok()) return FromRocks(status, "open " + dir);

  std::unique_ptr<RocksDb> out(new RocksDb());
  out->block_cache_ = std::move(block_cache);
  out->background_ = std::move(background);
  out->db_.reset(raw);
  for (rocksdb::ColumnFamilyHandle* handle : handles) out->handles_[handle->GetName()] = handle;
  out->events_ = out->handles_.at(kEventsCf);
  out->streams_ = out->handles_.at(kStreamsCf);
  out->idempotency_ = out->handles_.at(kIdempotencyCf);
  return out;
}

uint64_t RocksDb::SumProperty(const std::string& property) const {
  uint64_t total = 0;
  for (const auto& [name, handle] : handles_) {
    uint64_t bytes = 0;
    if (db_->GetIntProperty(handle, property, &bytes)) total += bytes;
  }
  return total;
}

uint64_t RocksDb::MemtableBytes() const {
  return SumProperty(rocksdb::DB::Properties::kSizeAllMemTables);
}

uint64_t RocksDb::BlockCacheBytes() const { return block_cache_->GetUsage(); }

EventStore::Stats::Background RocksDb::BackgroundWork() const { return background_->Get(); }

uint64_t RocksDb::TableReadersBytes() const {
  return SumProperty(rocksdb::DB::Properties::kEstimateTableReadersMem);
}

RocksDb::~RocksDb() {
  if (db_ == nullptr) return;
  rocksdb::Status status;
  // Async-durability writes sit in the WAL buffer or page cache: make them
  // durable before closing (not after a failed write: see Write()).
  if (!write_failed_.load(std::memory_order_acquire)) {
    status = db_->FlushWAL(/*sync=*/true);
    if (!status.ok()) {
      SURGE_LOG(WARNING, "eventstore") << "flush WAL at close: " << status.ToString();
    }
    // Persisting the memtables now spares the next Open a WAL replay of up
    // to write_buffer_bytes per column family (seconds on a big log).
    std::vector<rocksdb::ColumnFamilyHandle*> all;
    for (auto& [name, handle] : handles_) all.push_back(handle);
    status = db_->Flush(rocksdb::FlushOptions(), all);
    if (!status.ok()) {
      SURGE_LOG(WARNING, "eventstore") << "flush memtables at close: " << status.ToString();
    }
  }
  for (auto& [name, handle] : handles_) db_->DestroyColumnFamilyHandle(handle);
  handles_.clear();
  status = db_->Close();
  if (!status.ok()) {
    SURGE_LOG(WARNING, "eventstore") << "close: " << status.ToString();
  }
}

absl::Status RocksDb::Write(rocksdb::WriteBatch* batch, bool sync) {
  if (write_failed_.load(std::memory_order_acquire)) {
    return absl::UnavailableError(
        absl::StrCat("event store refuses writes after an earlier write failed (", write_error_,
                     "); reopen it to recover"));
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  rocksdb::Status status = db_->Write(write_options, batch);
  if (status.ok()) return absl::OkStatus();
  absl::Status failure = FromRocks(status, "write batch");
  write_error_ = std::string(failure.message());
  // Release: write_error_ is visible to whoever sees the flag.
  write_failed_.store(true, std::memory_order_release);
  return failure;
}

rocksdb::ColumnFamilyHandle* RocksDb::Cf(const std::string& name) const {
  auto it = handles_.find(name);
  return it == handles_.end() ? nullptr : it->second;
}

absl::StatusOr<std::optional<std::string>> RocksDb::Get(rocksdb::ColumnFamilyHandle* cf,
                                                        absl::string_view key) const {
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return FromRocks(status, "get");
  return std::optional<std::string>(std::move(value));
}

}  // namespace surge::eventstore::internal
