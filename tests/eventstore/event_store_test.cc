// Behaviour of EventStore appends and reads through the public API.
#include "eventstore/event_store.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_util.h"

namespace surge::eventstore {
namespace {

using testing::CouponEvent;
using testing::OneEvent;
using testing::ScratchDir;

std::unique_ptr<EventStore> OpenOrDie(const std::string& path, Options options = {}) {
  auto store = EventStore::Open(options, path);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(EventStoreTest, AssignsContiguousPositionsVersionsAndIds) {
  ScratchDir dir;
  Options options;
  options.node_id = "n7";
  auto store = OpenOrDie(dir.data(), options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->HeadPosition(), 0u);

  AppendRequest request;
  request.events = {CouponEvent("a"), CouponEvent("b"), CouponEvent("a")};
  request.events[2].set_event_id("custom-id");
  auto result = store->Append(std::move(request));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first_position, 1u);
  EXPECT_EQ(result->last_position, 3u);
  EXPECT_EQ(result->event_ids, (std::vector<std::string>{"n7:1", "n7:2", "custom-id"}));
  EXPECT_FALSE(result->duplicate);
  EXPECT_EQ(store->HeadPosition(), 3u);

  auto events = store->ReadAll(0, 100);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].stream_version(), 0);
  EXPECT_EQ((*events)[1].stream_version(), 0);
  EXPECT_EQ((*events)[2].stream_version(), 1);
  for (const v1::Event& event : *events) {
    EXPECT_EQ(event.node_id(), "n7");
    EXPECT_GT(event.recorded_at().seconds(), 0);
  }
  EXPECT_EQ(*store->StreamVersion("a"), 1);
  EXPECT_EQ(*store->StreamVersion("b"), 0);
  EXPECT_EQ(*store->StreamVersion("missing"), kNoStream);

  auto stream = store->ReadStream("a", 1, 10);
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ(stream->size(), 1u);
  EXPECT_EQ((*stream)[0].position(), 3u);
}

TEST(EventStoreTest, PositionsStayContiguousAcrossReopen) {
  ScratchDir dir;
  for (int round = 0; round < 3; ++round) {
    auto store = OpenOrDie(dir.data());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->HeadPosition(), static_cast<uint64_t>(round * 50));
    for (int i = 0; i < 50; ++i) {
      auto result = store->Append(OneEvent("s" + std::to_string(i % 5)));
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->first_position, static_cast<uint64_t>(round * 50 + i + 1));
    }
  }
  auto store = OpenOrDie(dir.data());
  auto events = store->ReadAll(1, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 150u);
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].position(), i + 1);
  // Versions continue across reopen: 30 events per stream.
  EXPECT_EQ(*store->StreamVersion("s0"), 29);
  auto stream = store->ReadStream("s0", 0, 1000);
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ(stream->size(), 30u);
  for (size_t i = 0; i < stream->size(); ++i) {
    EXPECT_EQ((*stream)[i].stream_version(), static_cast<int64_t>(i));
  }
}

TEST(EventStoreTest, ExpectedVersionsAnyNoStreamAndExact) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.data());
  ASSERT_TRUE(store->Append(OneEvent("s", kNoStream)).ok());
  ASSERT_TRUE(store->Append(OneEvent("s", 0)).ok());
  ASSERT_TRUE(store->Append(OneEvent("s", kAnyVersion)).ok());
  ASSERT_TRUE(store->Append(OneEvent("s", 2)).ok());

  auto no_stream = store->Append(OneEvent("s", kNoStream));
  EXPECT_EQ(no_stream.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ConflictVersion(no_stream.status()), 3);

  auto stale = store->Append(OneEvent("s", 1));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ConflictVersion(stale.status()), 3);
  EXPECT_NE(stale.status().message().find("'s'"), std::string::npos) << stale.status();

  auto ahead = store->Append(OneEvent("other", 0));
  EXPECT_EQ(ConflictVersion(ahead.status()), kNoStream);
  EXPECT_EQ(store->HeadPosition(), 4u);

  EXPECT_EQ(ConflictVersion(absl::AbortedError("plain")), std::nullopt);
  EXPECT_EQ(ConflictVersion(absl::OkStatus()), std::nullopt);
}

TEST(EventStoreTest, ConflictFailsWholeAppendAndWritesNothing) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.data());
  ASSERT_TRUE(store->Append(OneEvent("taken")).ok());
  AppendRequest request;
  request.events = {CouponEvent("fresh"), CouponEvent("taken")};
  request.expected_versions = {{"fresh", kNoStream}, {"taken", kNoStream}};
  request.idempotency_key = "k";
  request.extra_writes.push_back({kCheckpointsCf, "cp", "1"});
  auto result = store->Append(std::move(request));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store->HeadPosition(), 1u);
  EXPECT_EQ(*store->StreamVersion("fresh"), kNoStream);
  EXPECT_EQ(*store->Get(kCheckpointsCf, "cp"), std::nullopt);
  EXPECT_EQ(*store->LookupIdempotencyKey("k"), std::nullopt);
}

TEST(EventStoreTest, IdempotentRepeatAnswersFirstResultAndWritesNothing) {
  ScratchDir dir;
  AppendResult first;
  {
    auto store = OpenOrDie(dir.data());
    AppendRequest request;
    request.events = {CouponEvent("s"), CouponEvent("s")};
    request.idempotency_key = "req-1";
    request.fingerprint = "fp";
    request.reply = "order-42";
    auto result = store->Append(request);
    ASSERT_TRUE(result.ok()) << result.status();
    first = *result;
    EXPECT_EQ(first.reply, "order-42");

    request.reply = "other reply";  // the stored one wins
    auto repeat = store->Append(request);
    ASSERT_TRUE(repeat.ok()) << repeat.status();
    EXPECT_TRUE(repeat->duplicate);
    EXPECT_EQ(repeat->first_position, first.first_position);
    EXPECT_EQ(repeat->last_position, first.last_position);
    EXPECT_EQ(repeat->event_ids, first.event_ids);
    EXPECT_EQ(repeat->reply, "order-42");
    EXPECT_EQ(store->HeadPosition(), 2u);
    EXPECT_EQ(store->GetStats().appends, 1u);
  }
  auto store = OpenOrDie(dir.data());
  AppendRequest request;
  request.events = {CouponEvent("s")};
  request.idempotency_key = "req-1";
  request.fingerprint = "fp";
  auto repeat = store->Append(std::move(request));
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(repeat->event_ids, first.event_ids);
  EXPECT_EQ(repeat->reply, "order-42");
  EXPECT_EQ(store->HeadPosition(), 2u);

  auto looked_up = store->LookupIdempotencyKey("req-1");
  ASSERT_TRUE(looked_up.ok());
  ASSERT_TRUE(looked_up->has_value());
  EXPECT_EQ((*looked_up)->first_position, 1u);
  EXPECT_EQ((*looked_up)->reply, "order-42");
  EXPECT_EQ(*store->LookupIdempotencyKey("unknown"), std::nullopt);
}

TEST(EventStoreTest, FingerprintMismatchIsFailedPrecondition) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.data());
  AppendRequest request = OneEvent("s");
  request.idempotency_key = "k";
  request.fingerprint = "fp-1";
  ASSERT_TRUE(store->Append(request).ok());
  request.fingerprint = "fp-2";
  auto mismatch = store->Append(request);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kFailedPrecondition) << mismatch.status();
  EXPECT_EQ(store->HeadPosition(), 1u);
}

TEST(EventStoreTest, ExtraWritesCommitWithEventsAndDelete) {
  ScratchDir dir;
  Options options;
  options.extra_column_families = {"rm_test"};
  auto store = OpenOrDie(dir.data(), options);
  AppendRequest request = OneEvent("s");
  request.extra_writes = {{"rm_test", "row/1", "v1"},
                          {"rm_test", "row/2", "v2"},
                          {"rm_test", "other", "x"},
                          {kCheckpointsCf, "applied/p", EncodeBigEndian64(1)}};
  ASSERT_TRUE(store->Append(std::move(request)).ok());
  EXPECT_EQ(*store->Get("rm_test", "row/1"), "v1");
  EXPECT_EQ(DecodeBigEndian64(**store->Get(kCheckpointsCf, "applied/p")), 1u);
  auto rows = store->Scan("rm_test", "row/", 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1], std::make_pair(std::string("row/2"), std::string("v2")));

  // An append of extra writes only: no events, no position.
  AppendRequest deletion;
  deletion.extra_writes = {{"rm_test", "row/1", std::nullopt}};
  auto result = store->Append(std::move(deletion));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first_position, 0u);
  EXPECT_EQ(store->HeadPosition(), 1u);
  EXPECT_EQ(*store->Get("rm_test", "row/1"), std::nullopt);
  EXPECT_EQ(store->Scan("rm_test", "row/", 10)->size(), 1u);
}

TEST(EventStoreTest, UnknownColumnFamilyIsNotFound) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.data());
  EXPECT_EQ(store->Get("nope", "k").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Scan("nope", "", 1).status().code(), absl::StatusCode::kNotFound);
  AppendRequest request = OneEvent("s");
  request.extra_writes = {{"nope", "k", "v"}};
  EXPECT_EQ(store->Append(std::move(request)).status().code(), absl::StatusCode::kNotFound);
  AppendRequest own = OneEvent("s");
  own.extra_writes = {{kEventsCf, "k", "v"}};
  EXPECT_EQ(store->Append(std::move(own)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->HeadPosition(), 0u);
}

TEST(EventStoreTest, RejectsMalformedEvents) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.data());
  AppendRequest no_payload;
  no_payload.events.emplace_back().set_stream_id("s");
  EXPECT_EQ(store->Append(std::move(no_payload)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Append(OneEvent("")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Append(OneEvent(std::string("a\0b", 3))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->HeadPosition(), 0u);
}

TEST(EventStoreTest, ReopenKeepsColumnFamiliesNotListedInOptions) {
  ScratchDir dir;
  {
    Options options;
    options.extra_column_families = {"rm_old"};
    auto store = OpenOrDie(dir.data(), options);
    AppendRequest request;
    request.extra_writes = {{"rm_old", "k", "v"}};
    ASSERT_TRUE(store->Append(std::move(request)).ok());
  }
  auto store = OpenOrDie(dir.data());
  EXPECT_EQ(*store->Get("rm_old", "k"), "v");
}

TEST(EventStoreTest, WaitForHeadTimesOutThenSucceeds) {
  ScratchDir dir;
  auto store = OpenOrDie(dir.data());
  EXPECT_FALSE(store->WaitForHead(1, absl::Now() + absl::Milliseconds(20)));
  ASSERT_TRUE(store->Append(OneEvent("s")).ok());
  EXPECT_TRUE(store->WaitForHead(1, absl::Now() + absl::Seconds(5)));
}

TEST(EventStoreTest, BigEndianKeysSortNumerically) {
  EXPECT_LT(EncodeBigEndian64(255), EncodeBigEndian64(256));
  EXPECT_LT(EncodeBigEndian64(1), EncodeBigEndian64(1ull << 40));
  for (uint64_t v : {0ull, 1ull, 255ull, 1ull << 32, ~0ull}) {
    EXPECT_EQ(DecodeBigEndian64(EncodeBigEndian64(v)), v);
  }
}

// The memtables of all column families together stay near
// total_write_buffer_bytes although each column family alone may grow to
// write_buffer_bytes: 32 MiB of events and 32 MiB of checkpoint rows against
// a 4 MiB total bound and 64 MiB per column family. Without the bound the
// memtables would hold all 64 MiB. Flushes run in the background, so the
// check allows the bound several times over, still far below 64 MiB.
TEST(EventStoreTest, TotalWriteBufferBoundsTheMemtablesOfAllColumnFamilies) {
  ScratchDir dir;
  Options options;
  options.write_buffer_bytes = 64 << 20;
  options.total_write_buffer_bytes = 4 << 20;
  // Synced appends pace the writer the way a server's fsyncs do; the bound
  // is soft (flushes run in the background), so an unpaced writer could
  // outrun it.
  options.durability = Durability::kSync;
  auto store = OpenOrDie(dir.data(), options);
  ASSERT_NE(store, nullptr);
  const std::string payload(64 << 10, 'x');
  uint64_t peak = 0;
  for (int i = 0; i < 512; ++i) {
    AppendRequest request;
    request.events.push_back(CouponEvent("mem-" + std::to_string(i % 7)));
    for (int j = 0; j < 2; ++j) {
      request.extra_writes.push_back(
          ExtraWrite{kCheckpointsCf, "row-" + std::to_string(i) + "-" + std::to_string(j),
                     payload.substr(0, 32 << 10)});
    }
    request.events.back().mutable_coupon_requested()->set_user_id(payload.substr(0, 63 << 10));
    ASSERT_TRUE(store->Append(std::move(request)).ok());
    peak = std::max(peak, store->GetStats().memtable_bytes);
  }
  EXPECT_GT(peak, 1u << 20);  // the figure is real: the memtables did fill
  // The early flushes bring the total back under the bound (give or take
  // one memtable being filled). Without the bound nothing would ever flush
  // and 64 MiB would stay. RocksDB has no flush-completion callback here,
  // so this is a bounded poll of the figure.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  uint64_t now_bytes = store->GetStats().memtable_bytes;
  while (now_bytes > (8u << 20) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
    now_bytes = store->GetStats().memtable_bytes;
  }
  EXPECT_LE(now_bytes, 8u << 20) << "memtables stayed past the total bound (peak " << peak << ")";
}

// The memory figures the server exports (surge_eventstore_block_cache_bytes,
// surge_eventstore_table_readers_bytes) are RocksDB's own: reading events
// from an SST (the reopen flushed the WAL into one) opens its reader and
// fills the cache, within the configured size.
TEST(EventStoreTest, ReportsBlockCacheAndTableReaderMemory) {
  ScratchDir dir;
  Options options;
  options.block_cache_bytes = 1 << 20;
  {
    auto store = OpenOrDie(dir.data(), options);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 200; ++i) {
      AppendRequest request;
      request.events.push_back(CouponEvent("cache-" + std::to_string(i)));
      ASSERT_TRUE(store->Append(std::move(request)).ok());
    }
    // Nothing was read from an SST yet (the cache keeps a few bytes of its own).
    EXPECT_LT(store->GetStats().block_cache_bytes, 1024u);
  }
  auto store = OpenOrDie(dir.data(), options);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<v1::Event>> events = store->ReadAll(1, 1000);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 200u);
  const EventStore::Stats stats = store->GetStats();
  // 200 events are several 4 KiB data blocks, all read.
  EXPECT_GT(stats.block_cache_bytes, 8192u);
  EXPECT_LE(stats.block_cache_bytes, options.block_cache_bytes);
  EXPECT_GT(stats.table_readers_bytes, 0u);
}

// Index and filter blocks are held in the block cache, not in each SST's
// reader: RocksDB's default keeps them per reader outside any bound, where
// they grow with every event (~17 MiB after a million commands). The same
// SST files with ten times the keys leave the readers' own memory the same.
TEST(EventStoreTest, SstIndexAndFiltersStayInsideTheBlockCacheAsTheLogGrows) {
  auto readers_after = [](int appends) -> uint64_t {
    ScratchDir dir;
    Options options;
    {
      auto store = OpenOrDie(dir.data(), options);
      if (store == nullptr) return 0;
      for (int i = 0; i < appends; ++i) {
        AppendRequest request;
        request.events.push_back(CouponEvent(absl::StrCat("grow-", i)));
        request.idempotency_key = absl::StrCat("key-", i);
        EXPECT_TRUE(store->Append(std::move(request)).ok());
      }
    }
    auto store = OpenOrDie(dir.data(), options);  // the reopen flushed the WAL into SSTs
    if (store == nullptr) return 0;
    // Point reads that miss (new keys) go through the SSTs' filters.
    for (int i = 0; i < 100; ++i) {
      EXPECT_TRUE(store->LookupIdempotencyKey(absl::StrCat("absent-", i)).ok());
    }
    const EventStore::Stats stats = store->GetStats();
    EXPECT_GT(stats.table_readers_bytes, 0u);
    return stats.table_readers_bytes;
  };
  const uint64_t small = readers_after(2000);
  const uint64_t large = readers_after(20000);
  EXPECT_LT(large, small * 3 / 2) << "the SST readers' memory grew with the keys: " << small
                                  << " bytes with 2,000 appends, " << large << " with 20,000";
}

// RocksDB's background work is counted (surge_eventstore_background_*):
// small memtables flush after a few appends, and four L0 files make RocksDB
// compact them. Both happen on RocksDB's threads, so this is a bounded wait.
TEST(EventStoreTest, CountsFlushesAndCompactions) {
  ScratchDir dir;
  Options options;
  options.write_buffer_bytes = 64 << 10;
  options.total_write_buffer_bytes = 0;
  auto store = OpenOrDie(dir.data(), options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->GetStats().background.flushes, 0u);
  const std::string payload(4 << 10, 'x');
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  EventStore::Stats::Background seen;
  for (int i = 0; absl::Now() < deadline; ++i) {
    AppendRequest request;
    request.events.push_back(CouponEvent(absl::StrCat("bg-", i)));
    request.events.back().mutable_coupon_requested()->set_user_id(payload);
    ASSERT_TRUE(store->Append(std::move(request)).ok());
    seen = store->GetStats().background;
    if (seen.flushes >= 4 && seen.compactions >= 1) break;
    if (i >= 2000) absl::SleepFor(absl::Milliseconds(10));  // written enough; let RocksDB catch up
  }
  EXPECT_GE(seen.flushes, 4u);
  EXPECT_GT(seen.flush_bytes, 0u);  // compressed: the payload is one letter repeated
  // (A compaction may move files down without rewriting them: no bytes.)
  EXPECT_GE(seen.compactions, 1u) << "4+ L0 files and no compaction within 30 s";
  EXPECT_EQ(seen.write_stalls, 0u);
}

}  // namespace
}  // namespace surge::eventstore
