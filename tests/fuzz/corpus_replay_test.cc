// Replays a fuzz target's committed corpus (tests/fuzz/corpus/<target>/)
// through its LLVMFuzzerTestOneInput under GoogleTest, so every build — gcc
// included, where libFuzzer is not available — runs the seeds and every
// crash input ever added there. One test per corpus file.
//
// A target reports a broken oracle by aborting (fuzz_check.h), which fails
// the test run; a corpus that cannot be read fails too.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace surge::fuzz {
namespace {

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(SURGE_FUZZ_CORPUS_DIR, error)) {
    if (entry.is_regular_file()) files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class CorpusReplayTest : public ::testing::TestWithParam<std::string> {};

TEST(CorpusTest, IsNotEmpty) {
  EXPECT_GE(CorpusFiles().size(), 3u) << "seed corpus missing in " << SURGE_FUZZ_CORPUS_DIR;
}

TEST_P(CorpusReplayTest, InputRunsCleanly) {
  const std::string path = std::string(SURGE_FUZZ_CORPUS_DIR) + "/" + GetParam();
  std::ifstream file(path, std::ios::binary);
  ASSERT_TRUE(file) << "cannot open " << path;
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
            0);
}

// Also the empty input, which no corpus needs to carry.
TEST(CorpusTest, EmptyInputRunsCleanly) { EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0); }

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusReplayTest, ::testing::ValuesIn(CorpusFiles()), TestName);

}  // namespace
}  // namespace surge::fuzz
