// RAII owner of the RocksDB handle and its column family handles.
//
// Opens every column family already in the database plus the required ones
// and Options::extra_column_families (creating the missing ones), and on
// destruction syncs the WAL, releases the column family handles and closes
// the database. The handle map is fixed at Open, so lookups are thread-safe;
// rocksdb::DB itself is thread-safe. RocksDB's own diagnostics go to surge's
// log at WARN and ERROR only (see RocksLogger in rocks_db.cc); a normal open
// and close logs none.
#ifndef SURGE_EVENTSTORE_INTERNAL_ROCKS_DB_H_
#define SURGE_EVENTSTORE_INTERNAL_ROCKS_DB_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "eventstore/event_store.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace surge::eventstore::internal {

class RocksDb {
 public:
  // `env` (borrowed, may be null for the default) lets tests inject
  // filesystem faults; it must outlive the RocksDb.
  static absl::StatusOr<std::unique_ptr<RocksDb>> Open(const Options& options,
                                                       const std::string& dir,
                                                       rocksdb::Env* env = nullptr);
  ~RocksDb();
  RocksDb(const RocksDb&) = delete;
  RocksDb& operator=(const RocksDb&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  // nullptr for an unknown column family.
  rocksdb::ColumnFamilyHandle* Cf(const std::string& name) const;
  rocksdb::ColumnFamilyHandle* events() const { return events_; }
  rocksdb::ColumnFamilyHandle* streams() const { return streams_; }
  rocksdb::ColumnFamilyHandle* idempotency() const { return idempotency_; }
  // Bytes held by the memtables (active and not yet flushed) of every
  // column family. Thread-safe.
  uint64_t MemtableBytes() const;
  // Bytes the shared block cache holds (bounded by Options::block_cache_bytes).
  // Thread-safe.
  uint64_t BlockCacheBytes() const;
  // Bytes the open SST readers hold outside the block cache (their index
  // and bloom filter blocks; these grow with the data). Thread-safe.
  uint64_t TableReadersBytes() const;
  // RocksDB's background work since Open (flushes, compactions). Thread-safe.
  EventStore::Stats::Background BackgroundWork() const;

  // Writes `batch` atomically (fsyncing the WAL when `sync`). After one
  // failed write every later write is refused with UNAVAILABLE until the
  // store is reopened: the WAL's state is unknown then, RocksDB's WAL
  // writer must not be used again (Debian's build asserts on it), and
  // recovery at the next Open is the clean way back.
  absl::Status Write(rocksdb::WriteBatch* batch, bool sync);

  // Point read; nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(rocksdb::ColumnFamilyHandle* cf,
                                                 absl::string_view key) const;

 private:
  RocksDb() = default;
  // An integer property summed over every column family.
  uint64_t SumProperty(const std::string& property) const;

  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::shared_ptr<class BackgroundListener> background_;
  std::unique_ptr<rocksdb::DB> db_;
  // Set by the first failed Write; also makes the destructor skip the WAL
  // flush. Written by the appender thread, read by it and by the destructor
  // (after the appender is joined); atomic only to keep that cheap and safe.
  std::atomic<bool> write_failed_{false};
  std::string write_error_;  // guarded by the same protocol as write_failed_
  // Owned; destroyed before db_ closes.
  std::map<std::string, rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* idempotency_ = nullptr;
};

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_ROCKS_DB_H_
