// A real RocksDB event store in a temporary directory, with the read-model
// column families, for the domain tests. Async durability: these tests
// check logic, not fsync.
#ifndef SURGE_TESTS_DOMAIN_TEST_STORE_H_
#define SURGE_TESTS_DOMAIN_TEST_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "projections/read_models.h"
#include "tests/support/temp_dir.h"

namespace surge::domain {

inline std::unique_ptr<eventstore::EventStore> OpenTestStore(const testing::TempDir& dir) {
  eventstore::Options options;
  options.durability = eventstore::Durability::kAsync;
  options.extra_column_families = projections::ReadModelColumnFamilies();
  auto store = eventstore::EventStore::Open(options, dir.Path("data"));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

inline std::vector<v1::Event> AllEvents(eventstore::EventStore& store) {
  auto events = store.ReadAll(1, 100000);
  EXPECT_TRUE(events.ok()) << events.status();
  return events.ok() ? *std::move(events) : std::vector<v1::Event>();
}

}  // namespace surge::domain

#endif  // SURGE_TESTS_DOMAIN_TEST_STORE_H_
