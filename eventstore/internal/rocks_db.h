// RAII owner of the RocksDB handle and its column family handles.
//
// Opens every column family already in the database plus the required ones
// and Options::extra_column_families (creating the missing ones), and on
// destruction syncs the WAL, releases the column family handles and closes
// the database. The handle map is fixed at Open, so lookups are thread-safe;
// rocksdb::DB itself is thread-safe.
#ifndef SURGE_EVENTSTORE_INTERNAL_ROCKS_DB_H_
#define SURGE_EVENTSTORE_INTERNAL_ROCKS_DB_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "eventstore/event_store.h"
#include "rocksdb/db.h"

namespace surge::eventstore::internal {

class RocksDb {
 public:
  static absl::StatusOr<std::unique_ptr<RocksDb>> Open(const Options& options,
                                                       const std::string& dir);
  ~RocksDb();
  RocksDb(const RocksDb&) = delete;
  RocksDb& operator=(const RocksDb&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  // nullptr for an unknown column family.
  rocksdb::ColumnFamilyHandle* Cf(const std::string& name) const;
  rocksdb::ColumnFamilyHandle* events() const { return events_; }
  rocksdb::ColumnFamilyHandle* streams() const { return streams_; }
  rocksdb::ColumnFamilyHandle* idempotency() const { return idempotency_; }

  // Point read; nullopt when absent.
  absl::StatusOr<std::optional<std::string>> Get(rocksdb::ColumnFamilyHandle* cf,
                                                 absl::string_view key) const;

 private:
  RocksDb() = default;

  std::unique_ptr<rocksdb::DB> db_;
  // Owned; destroyed before db_ closes.
  std::map<std::string, rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* idempotency_ = nullptr;
};

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_ROCKS_DB_H_
