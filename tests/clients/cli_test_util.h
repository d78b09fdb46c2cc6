// Helpers shared by the client integration tests: running surge-cli against
// the shared live server and reading its human-readable output.
#ifndef SURGE_TESTS_CLIENTS_CLI_TEST_UTIL_H_
#define SURGE_TESTS_CLIENTS_CLI_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/clients/child_process.h"
#include "tests/clients/live_server.h"

namespace surge::testing {

// Runs surge-cli with --addr of the live server prepended, no token in the
// environment unless `env` adds one.
inline RunResult Cli(const std::vector<std::string>& args,
                     std::map<std::string, std::optional<std::string>> env = {}) {
  std::vector<std::string> argv = {SURGE_CLI_BIN, "--addr", LiveServer::Get().addr()};
  argv.insert(argv.end(), args.begin(), args.end());
  env.emplace("SURGE_ADMIN_TOKEN", std::nullopt);
  env.emplace("SURGE_ADDR", std::nullopt);
  return RunProcess(argv, env, absl::Seconds(45));
}

// As Cli, with the admin token.
inline RunResult AdminCli(std::vector<std::string> args) {
  args.insert(args.begin(), {"--token", LiveServer::kAdminToken});
  return Cli(args);
}

// The value of "key: value" in human output; "" when absent.
inline std::string ValueOf(const std::string& out, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, key + ":")) {
      return std::string(absl::StripAsciiWhitespace(line.substr(key.size() + 1)));
    }
  }
  return "";
}

// Everything a failed expectation should show.
inline std::string Describe(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

}  // namespace surge::testing

#endif  // SURGE_TESTS_CLIENTS_CLI_TEST_UTIL_H_
