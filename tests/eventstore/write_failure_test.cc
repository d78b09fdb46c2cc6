// A failed RocksDB write fails every append of the batch and leaves no trace
// in memory: the head does not move and positions stay contiguous.
#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "eventstore/internal/rocks_event_store.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/eventstore/test_util.h"

namespace surge::eventstore {
namespace {

using testing::OneEvent;
using testing::ScratchDir;

// A filesystem whose WAL files refuse writes while `failing` is set.
class FailingWalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FailingWalFileSystem(std::atomic<bool>* failing)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), failing_(failing) {}
  const char* Name() const override { return "FailingWalFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, result, dbg);
    if (status.ok() && absl::EndsWith(name, ".log")) {
      *result = std::make_unique<FailingFile>(std::move(*result), failing_);
    }
    return status;
  }

 private:
  class FailingFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    FailingFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::atomic<bool>* failing)
        : FSWritableFileOwnerWrapper(std::move(file)), failing_(failing) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (failing_->load()) return rocksdb::IOStatus::IOError("injected WAL failure");
      return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (failing_->load()) return rocksdb::IOStatus::IOError("injected WAL failure");
      return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (failing_->load()) return rocksdb::IOStatus::IOError("injected WAL failure");
      return FSWritableFileOwnerWrapper::Sync(options, dbg);
    }

   private:
    std::atomic<bool>* failing_;
  };

  std::atomic<bool>* failing_;
};

TEST(WriteFailureTest, FailedBatchFailsAppendsAndKeepsPositionsContiguous) {
  ScratchDir dir;
  std::atomic<bool> failing{false};
  std::unique_ptr<rocksdb::Env> env =
      rocksdb::NewCompositeEnv(std::make_shared<FailingWalFileSystem>(&failing));
  {
    auto store = internal::RocksEventStore::Open(Options(), dir.data(), env.get());
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Append(OneEvent("s")).ok());

    failing = true;
    AppendRequest request = OneEvent("s", 0);
    request.idempotency_key = "k";
    auto failed = (*store)->Append(std::move(request));
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
    EXPECT_EQ((*store)->HeadPosition(), 1u);
    EXPECT_EQ((*store)->ReadAll(1, 10)->size(), 1u);
    EXPECT_EQ(*(*store)->StreamVersion("s"), 0);
    EXPECT_EQ((*store)->GetStats().appends, 1u);
    EXPECT_EQ((*store)->GetStats().write_errors, 1u);  // surge_eventstore_write_errors_total
    failing = false;
    // The WAL's state is unknown after a failed write: the store keeps
    // refusing writes until it is reopened.
    auto after = (*store)->Append(OneEvent("s", 0));
    EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
    EXPECT_EQ((*store)->HeadPosition(), 1u);
    EXPECT_EQ((*store)->GetStats().write_errors, 2u);  // still refusing: the alert keeps firing
  }
  auto store = EventStore::Open(Options(), dir.data());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->HeadPosition(), 1u);
  EXPECT_EQ(*(*store)->LookupIdempotencyKey("k"), std::nullopt);
  auto next = (*store)->Append(OneEvent("s", 0));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->first_position, 2u);
  EXPECT_EQ(*(*store)->StreamVersion("s"), 1);
}

}  // namespace
}  // namespace surge::eventstore
