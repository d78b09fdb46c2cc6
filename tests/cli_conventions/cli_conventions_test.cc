// Runs the four command-line binaries (surge-server, surge-cli, surge-bench,
// surge-kafka-dev) and checks the conventions they share (issue 14):
//   --help (and -h) exit 0 and list the binary's own flags, on stdout, with no
//     build paths and no library flags;
//   an unknown flag exits 2 with exactly one line on stderr,
//     "<program>: unknown flag --x; see <program> --help";
//   --version prints "<program> <version> (commit <sha>)" and exits 0.
// The Abseil binaries' own flags are read from their sources (every
// ABSL_FLAG there must be listed), surge-cli's from its GlobalFlags().
// Nothing here starts a server: each run exits while parsing its flags.
#include <filesystem>
#include <fstream>
#include <ostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "clients/cli/command.h"
#include "gtest/gtest.h"
#include "tests/clients/child_process.h"

namespace surge::testing {
namespace {

constexpr absl::Duration kRunTimeout = absl::Seconds(30);

struct Binary {
  std::string program;  // "surge-server"
  std::string path;     // the built binary
  // Files (under the source tree) whose ABSL_FLAGs are the binary's own;
  // empty for surge-cli.
  std::vector<std::string> flag_sources;
  // A known flag with its value as a separate argument, to put before an
  // unknown one: the value must not be taken for a flag.
  std::vector<std::string> valued_flag;
};

// Test names and failure messages show the program, not the struct's bytes.
void PrintTo(const Binary& binary, std::ostream* os) { *os << binary.program; }

std::vector<Binary> Binaries() {
  return {
      {"surge-server", SURGE_SERVER_BIN, {"server/main.cc"}, {"--log_level", "info"}},
      {"surge-cli", SURGE_CLI_BIN, {}, {"--addr", "127.0.0.1:1"}},
      {"surge-bench", SURGE_BENCH_BIN, {"clients/bench/main.cc"}, {"--target", "127.0.0.1:1"}},
      {"surge-kafka-dev", SURGE_KAFKA_DEV_BIN, {"kafka/dev_broker_main.cc"}, {"--brokers", "1"}},
  };
}

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(SURGE_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The flags --help must list: the names of the ABSL_FLAGs in the binary's
// sources, or surge-cli's global flags.
std::vector<std::string> OwnFlags(const Binary& binary) {
  std::vector<std::string> names;
  if (binary.flag_sources.empty()) {
    for (const cli::FlagSpec& flag : cli::GlobalFlags()) names.push_back(flag.name);
    return names;
  }
  const std::regex flag_re(R"(ABSL_FLAG\(\s*[^,]+,\s*([A-Za-z0-9_]+)\s*,)");
  for (const std::string& file : binary.flag_sources) {
    const std::string source = ReadSource(file);
    for (auto it = std::sregex_iterator(source.begin(), source.end(), flag_re);
         it != std::sregex_iterator(); ++it) {
      names.push_back((*it)[1].str());
    }
  }
  return names;
}

std::string Describe(const RunResult& r) {
  return absl::StrCat("exit ", r.exit_code, "\n--- stdout:\n", r.out, "\n--- stderr:\n", r.err);
}

class CliConventionsTest : public ::testing::TestWithParam<Binary> {
 protected:
  RunResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), GetParam().path);
    return RunProcess(args, {}, kRunTimeout);
  }
};

TEST_P(CliConventionsTest, HelpExitsZeroAndListsItsOwnFlagsWithoutBuildPaths) {
  const Binary& binary = GetParam();
  const std::vector<std::string> own = OwnFlags(binary);
  // A guard against a regex that stops matching: each binary has several.
  ASSERT_GE(own.size(), 3u) << binary.program;

  for (const std::string& help_flag : {"--help", "-h"}) {
    SCOPED_TRACE(help_flag);
    RunResult help = Run({help_flag});
    ASSERT_EQ(help.exit_code, 0) << Describe(help);
    EXPECT_EQ(help.err, "") << Describe(help);
    EXPECT_TRUE(absl::StrContains(help.out, binary.program)) << help.out;
    for (const std::string& name : own) {
      EXPECT_TRUE(absl::StrContains(help.out, absl::StrCat("--", name, " ")) ||
                  absl::StrContains(help.out, absl::StrCat("--", name, "\n")))
          << binary.program << " --help does not list --" << name << ":\n"
          << help.out;
    }
    EXPECT_TRUE(absl::StrContains(help.out, "--version")) << help.out;
    // No build paths, source file names or Abseil's "Flags from <file>".
    EXPECT_FALSE(absl::StrContains(help.out, SURGE_SOURCE_DIR)) << help.out;
    EXPECT_FALSE(absl::StrContains(help.out, SURGE_BINARY_DIR)) << help.out;
    EXPECT_FALSE(absl::StrContains(help.out, "Flags from")) << help.out;
    EXPECT_FALSE(absl::StrContains(help.out, ".cc")) << help.out;
    // Its own flags only: not Abseil's (--helpfull lists those).
    EXPECT_FALSE(absl::StrContains(help.out, "--flagfile")) << help.out;
  }
}

TEST_P(CliConventionsTest, UnknownFlagExitsTwoWithOneLineHint) {
  const Binary& binary = GetParam();
  const std::string hint = absl::StrCat(binary.program, ": unknown flag --no_such_flag; see ",
                                        binary.program, " --help\n");
  std::vector<std::vector<std::string>> invocations = {
      {"--no_such_flag"},
      {"--no_such_flag=3"},
  };
  std::vector<std::string> after_valued = binary.valued_flag;
  after_valued.push_back("--no_such_flag");
  invocations.push_back(after_valued);
  for (const std::vector<std::string>& args : invocations) {
    SCOPED_TRACE(args.back());
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_EQ(r.err, hint) << Describe(r);
    EXPECT_EQ(r.out, "") << Describe(r);
  }
}

TEST_P(CliConventionsTest, VersionPrintsTheVersionAndTheCommit) {
  const Binary& binary = GetParam();
  RunResult r = Run({"--version"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "") << Describe(r);
  std::smatch match;
  const std::regex version_re(absl::StrCat(binary.program, " ", SURGE_PROJECT_VERSION,
                                           R"( \(commit ([0-9a-f]{4,40}|unknown)\)\n)"));
  ASSERT_TRUE(std::regex_match(r.out, match, version_re)) << Describe(r);
  // Built from a git checkout: the commit is one of its commits. (Not
  // compared with HEAD: commits may land between the build and the test.)
  const std::string commit = match[1].str();
  if (std::filesystem::exists(std::string(SURGE_SOURCE_DIR) + "/.git") &&
      std::filesystem::exists("/usr/bin/git")) {
    ASSERT_NE(commit, "unknown") << "built from a git checkout, yet no commit was baked in";
    RunResult type =
        RunProcess({"/usr/bin/git", "-C", SURGE_SOURCE_DIR, "cat-file", "-t", commit + "^{commit}"},
                   {}, kRunTimeout);
    EXPECT_EQ(type.out, "commit\n") << Describe(type);
  }
}

INSTANTIATE_TEST_SUITE_P(AllBinaries, CliConventionsTest, ::testing::ValuesIn(Binaries()),
                         [](const ::testing::TestParamInfo<Binary>& info) {
                           std::string name;
                           for (char c : info.param.program) {
                             if (c != '-') name += c;
                           }
                           return name;  // "surgeserver", ...
                         });

// surge-cli's unknown flag after a command points at that command's help.
TEST(SurgeCliConventionsTest, UnknownCommandFlagPointsAtTheCommandsHelp) {
  RunResult r =
      RunProcess({SURGE_CLI_BIN, "stock", "get", "book", "--no_such_flag"}, {}, kRunTimeout);
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_EQ(r.err, "surge-cli: unknown flag --no_such_flag; see surge-cli stock get --help\n")
      << Describe(r);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace surge::testing
