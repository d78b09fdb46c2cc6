// The surge-cli entry point as a function, so main() stays one line and the
// dispatch (groups, subcommands, help, global flags, exit codes) lives in one
// place:
//
//   int code = surge::cli::RunCli({"order", "get", "o-1", "--json"}, std::cout, std::cerr);
//
// Exit codes: 0 success, 1 RPC error, 2 usage error (see command.h).
// Reads SURGE_ADDR and SURGE_ADMIN_TOKEN from the environment as defaults
// for --addr and --token.
#ifndef SURGE_CLIENTS_CLI_SURGE_CLI_H_
#define SURGE_CLIENTS_CLI_SURGE_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace surge::cli {

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace surge::cli

#endif  // SURGE_CLIENTS_CLI_SURGE_CLI_H_
