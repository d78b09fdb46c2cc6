// A real event store in a fresh temporary directory, with every read-model
// column family, removed at the end of the test.
#ifndef SURGE_TESTS_PROJECTIONS_STORE_FIXTURE_H_
#define SURGE_TESTS_PROJECTIONS_STORE_FIXTURE_H_

#include <stdlib.h>

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

}  // namespace surge::projections::testing

#endif  // SURGE_TESTS_PROJECTIONS_STORE_FIXTURE_H_
