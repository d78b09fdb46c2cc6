// Turns SIGINT/SIGTERM into an orderly stop for long-running commands
// (`events tail`, `load`) instead of killing the process mid-output.
//
//   InterruptWatcher::Start();                 // first thing in main()
//   InterruptWatcher::SetHandler([&] { ctx->TryCancel(); });
//
// Start() blocks both signals in the calling thread, so every thread created
// afterwards (gRPC's included) inherits the mask, and one detached thread
// takes them with sigwait(). When a signal arrives the current handler runs
// on that thread (under a lock: SetHandler waits for a running handler, so a
// handler may capture locals that die after SetHandler(nullptr)); with no
// handler set the process exits with 128+signal, as
// it would by default. Thread-safe.
#ifndef SURGE_CLIENTS_CLI_INTERRUPT_H_
#define SURGE_CLIENTS_CLI_INTERRUPT_H_

#include <functional>

namespace surge::cli {

class InterruptWatcher {
 public:
  // Call once, before any other thread is started.
  static void Start();
  // Replaces the handler; an empty function restores the default exit.
  static void SetHandler(std::function<void()> handler);
};

}  // namespace surge::cli

#endif  // SURGE_CLIENTS_CLI_INTERRUPT_H_
