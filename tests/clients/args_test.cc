#include "clients/cli/args.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace surge::cli {
namespace {

const std::vector<FlagSpec> kGlobals = {{"json", false, false, ""}, {"addr", true, false, ""}};

CommandSpec PlaceSpec() {
  return {"order place", "", "", {{"user", true, false, ""}, {"line", true, true, ""}}, 0, 0};
}

TEST(ArgsTest, ParsesSeparateAndInlineValuesAndRepeatedFlags) {
  std::vector<std::string> tokens = {"--user", "u1", "--line=A:1", "--line", "B:2", "--json"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(PlaceSpec(), kGlobals, tokens);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->Get("user"), "u1");
  EXPECT_EQ(args->GetAll("line"), (std::vector<std::string>{"A:1", "B:2"}));
  EXPECT_TRUE(args->Has("json"));
  EXPECT_FALSE(args->Has("addr"));
}

TEST(ArgsTest, RejectsUnknownFlagMissingValueAndRepeatedSingleFlag) {
  std::vector<std::string> unknown = {"--usr", "u1"};
  EXPECT_EQ(ParseArgs(PlaceSpec(), kGlobals, unknown).status().message(), "unknown flag --usr");
  std::vector<std::string> missing = {"--user"};
  EXPECT_EQ(ParseArgs(PlaceSpec(), kGlobals, missing).status().message(),
            "flag --user needs a value");
  std::vector<std::string> twice = {"--user", "a", "--user", "b"};
  EXPECT_EQ(ParseArgs(PlaceSpec(), kGlobals, twice).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ArgsTest, ChecksPositionalCountAndKeepsNegativeNumbersAsValues) {
  CommandSpec adjust{"stock adjust", "", "", {}, 2, 2};
  std::vector<std::string> ok = {"sku-1", "-5"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(adjust, kGlobals, ok);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->positional(1), "-5");
  std::vector<std::string> few = {"sku-1"};
  EXPECT_FALSE(ParseArgs(adjust, kGlobals, few).ok());
  std::vector<std::string> many = {"a", "1", "extra"};
  EXPECT_EQ(ParseArgs(adjust, kGlobals, many).status().message(), "unexpected argument \"extra\"");
}

TEST(ArgsTest, HelpSkipsArityChecks) {
  CommandSpec get{"order get", "", "", {}, 1, 1};
  std::vector<std::string> tokens = {"--help"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(get, kGlobals, tokens);
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->Has("help"));
}

TEST(ArgsTest, GetIntNamesTheFlagOnBadInput) {
  CommandSpec spec{"x", "", "", {{"count", true, false, ""}}, 0, 0};
  std::vector<std::string> tokens = {"--count", "ten"};
  absl::StatusOr<ParsedArgs> args = ParseArgs(spec, {}, tokens);
  ASSERT_TRUE(args.ok());
  absl::StatusOr<int64_t> n = args->GetInt("count", 0);
  EXPECT_EQ(n.status().message(), "--count: expected an integer, got \"ten\"");
  EXPECT_EQ(*args->GetInt("absent", 7), 7);
}

}  // namespace
}  // namespace surge::cli
