// The surge-cli entry point as a function, so main() stays one line and the
// dispatch (groups, subcommands, help, global flags, exit codes) lives in one
// place:
//
//   int code = surge::cli::RunCli({"order", "get", "o-1", "--json"}, std::cout, std::cerr);
//
// Exit codes: 0 success, 1 RPC error, 2 usage error (see command.h); an
// unknown flag is a usage error reported in one line with a pointer to
// --help, and --version (before the command) prints the version and commit.
// Reads SURGE_ADDR and SURGE_ADMIN_TOKEN from the environment as defaults
// for --addr and --token.
#ifndef SURGE_CLIENTS_CLI_SURGE_CLI_H_
#define SURGE_CLIENTS_CLI_SURGE_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace surge::cli {

// `version_line` is what `surge-cli --version` prints (main() passes
// surge::VersionLine("surge-cli"), common/build_info.h).
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const std::string& version_line = "surge-cli (version unknown)");

}  // namespace surge::cli

#endif  // SURGE_CLIENTS_CLI_SURGE_CLI_H_
