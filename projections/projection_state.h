// The state a projection handler reads and writes: point reads of read-model
// rows, and buffered writes that the runner commits atomically with the
// handler's emitted events and its checkpoint (EventStore::Append extra
// writes).
//
//   OverlayState state(&base);
//   SURGE_ASSIGN_OR_RETURN(auto events, projection.Handle(state, event));
//   request.extra_writes = state.TakeWrites();
//
// A batch of messages shares one OverlayState so that each message sees the
// writes of the ones before it, although nothing is committed yet.
#ifndef SURGE_PROJECTIONS_PROJECTION_STATE_H_
#define SURGE_PROJECTIONS_PROJECTION_STATE_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "eventstore/event_store.h"

namespace surge::projections {

// Committed rows: the event store in production, a map in tests.
class StateReader {
 public:
  virtual ~StateReader() = default;
  // The row, nullopt when absent. NOT_FOUND for an unknown column family.
  virtual absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                         const std::string& key) = 0;
};

// Committed rows read straight from the event store's column families.
// Borrows the store. Thread-safe (the store is).
class EventStoreStateReader : public StateReader {
 public:
  explicit EventStoreStateReader(eventstore::EventStore* store) : store_(store) {}
  absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                 const std::string& key) override {
    return store_->Get(cf, key);
  }

 private:
  eventstore::EventStore* const store_;
};

// What handlers see. Not thread-safe: one handler at a time.
class ProjectionState {
 public:
  virtual ~ProjectionState() = default;
  // The row as the handler's own earlier writes left it, else as committed.
  virtual absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                         const std::string& key) = 0;
  virtual void Put(const std::string& cf, const std::string& key, std::string value) = 0;
  virtual void Delete(const std::string& cf, const std::string& key) = 0;
  // A row for the read models that later decisions never need (a rejected
  // coupon request: re-deciding a duplicate of it rejects it again, for the
  // same reason). Single node: a Put. Cluster: views write it, but the
  // decider's partition state and its snapshots leave it out, which keeps
  // them bounded through a flash sale of any length. Reads later in the
  // same batch still see it.
  virtual void PutReadModel(const std::string& cf, const std::string& key, std::string value) {
    Put(cf, key, std::move(value));
  }
};

// A write-back overlay over a StateReader. Borrows `base`, which must outlive
// it. Not thread-safe.
class OverlayState : public ProjectionState {
 public:
  explicit OverlayState(StateReader* base) : base_(base) {}

  absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                 const std::string& key) override;
  void Put(const std::string& cf, const std::string& key, std::string value) override;
  void Delete(const std::string& cf, const std::string& key) override;

  // The buffered writes as extra writes, in key order (the last write of a
  // key wins), and empties the overlay.
  std::vector<eventstore::ExtraWrite> TakeWrites();
  // Forgets the buffered writes (a failed batch).
  void Discard() { writes_.clear(); }
  bool empty() const { return writes_.empty(); }

 private:
  StateReader* const base_;
  // (cf, key) -> value; nullopt marks a delete.
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> writes_;
};

// The fake at the seam: committed rows in memory, for handler tests.
// Not thread-safe.
class InMemoryStateStore : public StateReader {
 public:
  absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                 const std::string& key) override;
  // Commits writes as EventStore::Append would.
  void Apply(const std::vector<eventstore::ExtraWrite>& writes);
  // Every committed row of a column family, in key order.
  std::vector<std::pair<std::string, std::string>> Rows(const std::string& cf) const;

 private:
  std::map<std::pair<std::string, std::string>, std::string> rows_;
};

}  // namespace surge::projections

#endif  // SURGE_PROJECTIONS_PROJECTION_STATE_H_
