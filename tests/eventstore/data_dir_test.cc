// The data dir's FORMAT file guards against reading a dir of another format.
#include <filesystem>
#include <fstream>
#include <string>

#include "eventstore/event_store.h"
#include "gtest/gtest.h"
#include "tests/eventstore/test_util.h"

namespace surge::eventstore {
namespace {

using testing::ScratchDir;

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(DataDirTest, CreatesDirWithFormatFile) {
  ScratchDir dir;
  auto store = EventStore::Open(Options(), dir.data());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(ReadFile(dir.data() + "/FORMAT"), "surge-data-format 1\n");
  EXPECT_TRUE(std::filesystem::is_directory(dir.data() + "/log"));
}

TEST(DataDirTest, RefusesOtherFormatVersion) {
  ScratchDir dir;
  ASSERT_TRUE(EventStore::Open(Options(), dir.data()).ok());
  WriteFile(dir.data() + "/FORMAT", "surge-data-format 2\n");
  auto store = EventStore::Open(Options(), dir.data());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(store.status().message());
  EXPECT_NE(message.find("FORMAT"), std::string::npos) << message;
  EXPECT_NE(message.find("version 2"), std::string::npos) << message;
  EXPECT_NE(message.find("version 1"), std::string::npos) << message;
}

TEST(DataDirTest, RefusesUnparsableFormat) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.data());
  WriteFile(dir.data() + "/FORMAT", "something else");
  auto store = EventStore::Open(Options(), dir.data());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

TEST(DataDirTest, RefusesNonEmptyDirWithoutFormat) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.data());
  WriteFile(dir.data() + "/notes.txt", "not surge");
  auto store = EventStore::Open(Options(), dir.data());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_FALSE(std::filesystem::exists(dir.data() + "/FORMAT"));
}

TEST(DataDirTest, AdoptsEmptyDir) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.data());
  EXPECT_TRUE(EventStore::Open(Options(), dir.data()).ok());
}

TEST(DataDirTest, MissingDirWithoutCreateIsNotFound) {
  ScratchDir dir;
  Options options;
  options.create_if_missing = false;
  EXPECT_EQ(EventStore::Open(options, dir.data()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.data()));
}

TEST(DataDirTest, SecondOpenOfSameDirFailsWhileFirstIsOpen) {
  ScratchDir dir;
  auto first = EventStore::Open(Options(), dir.data());
  ASSERT_TRUE(first.ok());
  auto second = EventStore::Open(Options(), dir.data());
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace surge::eventstore
