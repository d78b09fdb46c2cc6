// The RocksDB implementation of EventStore (the public API's "DBImpl").
//
// Threads: callers of Append/AppendAsync only validate and queue; one
// appender thread (AppenderLoop) owns next_position_ and the stream version
// cache, builds each group-commit batch, writes it, publishes the head and
// answers the callers. Readers go straight to RocksDB and never see past the
// published head. Thread-safe.
#ifndef SURGE_EVENTSTORE_INTERNAL_ROCKS_EVENT_STORE_H_
#define SURGE_EVENTSTORE_INTERNAL_ROCKS_EVENT_STORE_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"
#include "eventstore/internal/append_queue.h"
#include "eventstore/internal/batch_builder.h"
#include "eventstore/internal/head_state.h"
#include "eventstore/internal/rocks_db.h"

namespace surge::eventstore::internal {

class RocksEventStore : public EventStore {
 public:
  // `env` (borrowed, null = default) is a seam for fault-injection tests.
  static absl::StatusOr<std::unique_ptr<RocksEventStore>> Open(const Options& options,
                                                               const std::string& path,
                                                               rocksdb::Env* env = nullptr);
  ~RocksEventStore() override;

  absl::StatusOr<AppendResult> Append(AppendRequest request) override;
  void AppendAsync(AppendRequest request, AppendCallback done) override;
  absl::StatusOr<std::vector<v1::Event>> ReadAll(uint64_t from_position, size_t max_count) override;
  absl::StatusOr<std::vector<v1::Event>> ReadStream(const std::string& stream_id,
                                                    int64_t from_version,
                                                    size_t max_count) override;
  absl::StatusOr<int64_t> StreamVersion(const std::string& stream_id) override;
  uint64_t HeadPosition() const override;
  bool WaitForHead(uint64_t position, absl::Time deadline) const override;
  std::unique_ptr<Subscription> Subscribe(uint64_t from_position) override;
  absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                 const std::string& key) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(const std::string& cf,
                                                                        const std::string& prefix,
                                                                        size_t limit) override;
  absl::StatusOr<std::optional<AppendResult>> LookupIdempotencyKey(const std::string& key) override;
  Stats GetStats() const override;
  void SetBatchObserver(BatchObserver observer) override;

 private:
  RocksEventStore(const Options& options, std::unique_ptr<RocksDb> db, uint64_t head);

  // Checks what can be checked without the log's state, on the caller's
  // thread, so bad requests never take a queue slot.
  absl::Status Validate(const AppendRequest& request) const;
  void AppenderLoop();
  void ProcessBatch(std::vector<PendingAppend>& batch);
  absl::StatusOr<v1::Event> ReadEvent(uint64_t position) const;

  const Options options_;
  const std::unique_ptr<RocksDb> db_;
  const std::shared_ptr<HeadState> head_;
  AppendQueue queue_;

  // Owned by the appender thread (no lock): the next position to assign and
  // the committed stream versions.
  uint64_t next_position_;
  StreamVersionCache versions_;

  mutable absl::Mutex mu_;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  BatchObserver observer_ ABSL_GUARDED_BY(mu_);

  std::thread appender_;  // started last in the constructor, joined first
};

}  // namespace surge::eventstore::internal

#endif  // SURGE_EVENTSTORE_INTERNAL_ROCKS_EVENT_STORE_H_
