// Sends one crash-loop command and keeps at it until the server answers
// definitively: a send that ends without an answer (connection refused, the
// server killed mid-call, a deadline) leaves the outcome unknown, and the
// client resends with the SAME request_id once the server is back. The
// idempotency key makes that safe: the command is applied once, and a repeat
// answers the first answer (duplicate=true).
//
// Thread-safe (stateless apart from the shared Endpoint).
#ifndef SURGE_TESTS_CRASHLOOP_SENDER_H_
#define SURGE_TESTS_CRASHLOOP_SENDER_H_

#include <grpcpp/support/status.h>

#include "absl/time/time.h"
#include "tests/crashloop/endpoint.h"
#include "tests/crashloop/workload.h"

namespace surge::crashloop {

struct SenderOptions {
  // Deadline of one send. Long enough for a durable group commit under load;
  // a send cut short is an unknown outcome and is retried.
  absl::Duration call_timeout = absl::Seconds(10);
  // Gives up (record neither acknowledged nor rejected) after this long.
  absl::Duration give_up_after = absl::Seconds(90);
};

// True for gRPC codes after which the command may or may not have been
// applied, or was refused for a transient reason (full queue): resend.
bool IsRetryable(grpc::StatusCode code);

// Sends `record->command` until a definitive answer or the give-up bound,
// filling in `record`.
void SendUntilAnswered(Endpoint& endpoint, const SenderOptions& options, CommandRecord* record);

}  // namespace surge::crashloop

#endif  // SURGE_TESTS_CRASHLOOP_SENDER_H_
