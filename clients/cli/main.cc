// surge-cli: a command-line client for every surge.v1 RPC. See surge_cli.h.
#include <iostream>
#include <string>
#include <vector>

#include "clients/cli/interrupt.h"
#include "clients/cli/surge_cli.h"
#include "common/build_info.h"

int main(int argc, char** argv) {
  // Before gRPC starts any thread, so Ctrl-C is handled by our watcher.
  surge::cli::InterruptWatcher::Start();
  std::vector<std::string> args(argv + 1, argv + argc);
  return surge::cli::RunCli(args, std::cout, std::cerr, surge::VersionLine("surge-cli"));
}
