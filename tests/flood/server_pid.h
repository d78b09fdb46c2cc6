// The pid of a ServerProcess child, found in /proc (ServerProcess does not
// expose it): the child of this process whose command line carries the
// server's own --data_dir, which is a fresh temporary directory per server.
#ifndef SURGE_TESTS_FLOOD_SERVER_PID_H_
#define SURGE_TESTS_FLOOD_SERVER_PID_H_

#include <sys/types.h>

#include "absl/status/statusor.h"
#include "tests/support/server_process.h"

namespace surge::testing {

// NOT_FOUND when no such child runs.
absl::StatusOr<pid_t> FindServerPid(const ServerProcess& server);

}  // namespace surge::testing

#endif  // SURGE_TESTS_FLOOD_SERVER_PID_H_
