// A real event store in a fresh temporary directory, with every read-model
// column family, removed at the end of the test.
#ifndef SURGE_TESTS_PROJECTIONS_STORE_FIXTURE_H_
#define SURGE_TESTS_PROJECTIONS_STORE_FIXTURE_H_

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "projections/read_models.h"

namespace surge::projections::testing {

class TempStore {
 public:
  TempStore() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "surge-proj-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    Open();
  }
  ~TempStore() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Closes and reopens the store (a restart).
  void Reopen() {
    store_.reset();
    Open();
  }

  eventstore::EventStore& operator*() { return *store_; }
  eventstore::EventStore* operator->() { return store_.get(); }
  eventstore::EventStore* get() { return store_.get(); }

 private:
  void Open() {
    eventstore::Options options;
    options.extra_column_families = ReadModelColumnFamilies();
    options.durability = eventstore::Durability::kAsync;  // tests need no fsync
    auto store = eventstore::EventStore::Open(options, dir_ + "/data");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  std::string dir_;
  std::unique_ptr<eventstore::EventStore> store_;
};

// Delegates to a real store but refuses the next `n` appends with
// RESOURCE_EXHAUSTED (a full append queue). Thread-safe.
class RefusingStore : public eventstore::EventStore {
 public:
  explicit RefusingStore(eventstore::EventStore& real) : real_(real) {}
  void RefuseAppends(int n) { refusals_.store(n); }
  int refused() const { return refused_.load(); }

  absl::StatusOr<eventstore::AppendResult> Append(eventstore::AppendRequest request) override {
    if (refusals_.fetch_sub(1) > 0) {
      refused_.fetch_add(1);
      return absl::ResourceExhaustedError("append queue full");
    }
    return real_.Append(std::move(request));
  }
  void AppendAsync(eventstore::AppendRequest request, AppendCallback done) override {
    done(Append(std::move(request)));
  }
  absl::StatusOr<std::vector<v1::Event>> ReadAll(uint64_t from, size_t max) override {
    return real_.ReadAll(from, max);
  }
  absl::StatusOr<std::vector<v1::Event>> ReadStream(const std::string& stream, int64_t from,
                                                    size_t max) override {
    return real_.ReadStream(stream, from, max);
  }
  absl::StatusOr<int64_t> StreamVersion(const std::string& stream) override {
    return real_.StreamVersion(stream);
  }
  uint64_t HeadPosition() const override { return real_.HeadPosition(); }
  bool WaitForHead(uint64_t position, absl::Time deadline) const override {
    return real_.WaitForHead(position, deadline);
  }
  std::unique_ptr<eventstore::Subscription> Subscribe(uint64_t from) override {
    return real_.Subscribe(from);
  }
  absl::StatusOr<std::optional<std::string>> Get(const std::string& cf,
                                                 const std::string& key) override {
    return real_.Get(cf, key);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(const std::string& cf,
                                                                        const std::string& prefix,
                                                                        size_t limit) override {
    return real_.Scan(cf, prefix, limit);
  }
  absl::StatusOr<std::optional<eventstore::AppendResult>> LookupIdempotencyKey(
      const std::string& key) override {
    return real_.LookupIdempotencyKey(key);
  }
  Stats GetStats() const override { return real_.GetStats(); }
  void SetBatchObserver(BatchObserver observer) override {
    real_.SetBatchObserver(std::move(observer));
  }

 private:
  eventstore::EventStore& real_;
  std::atomic<int> refusals_{0};  // may go negative: only "> 0" matters
  std::atomic<int> refused_{0};
};

}  // namespace surge::projections::testing

#endif  // SURGE_TESTS_PROJECTIONS_STORE_FIXTURE_H_
