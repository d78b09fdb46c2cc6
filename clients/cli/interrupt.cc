#include "clients/cli/interrupt.h"

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace surge::cli {
namespace {

absl::Mutex handler_mu;
std::function<void()>* handler ABSL_GUARDED_BY(handler_mu) = nullptr;

sigset_t InterruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

void WatchLoop() {
  const sigset_t set = InterruptSignals();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    // The handler runs under the lock so that SetHandler(nullptr), which
    // commands call before their captured state goes away, waits for it.
    absl::MutexLock lock(&handler_mu);
    if (handler == nullptr) std::_Exit(128 + sig);
    (*handler)();
  }
}

}  // namespace

void InterruptWatcher::Start() {
  const sigset_t set = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(WatchLoop).detach();
}

void InterruptWatcher::SetHandler(std::function<void()> h) {
  absl::MutexLock lock(&handler_mu);
  delete handler;
  handler = h ? new std::function<void()>(std::move(h)) : nullptr;
}

}  // namespace surge::cli
