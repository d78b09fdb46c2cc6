// Where the crash loop's clients find the server: the channel to the current
// server process, replaced after every restart (the port is kernel-chosen,
// so it changes), and a generation number that tells a client whether the
// server it last failed against is gone.
//
// Thread-safe: the controller publishes, any number of clients read and wait.
#ifndef SURGE_TESTS_CRASHLOOP_ENDPOINT_H_
#define SURGE_TESTS_CRASHLOOP_ENDPOINT_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace surge::crashloop {

class Endpoint {
 public:
  struct View {
    uint64_t generation = 0;  // bumped by every Publish
    std::shared_ptr<grpc::Channel> channel;
  };

  // A (re)started server serves at `address`.
  void Publish(const std::string& address);
  // The server is being killed: clients wait for the next Publish.
  void MarkDown();

  // The current server, waiting up to `timeout` while it is down. nullopt
  // when it stays down.
  std::optional<View> WaitUp(absl::Duration timeout);
  // Waits up to `timeout` for a generation other than `seen` (after a
  // failure: a new server may know the outcome). False on timeout.
  bool WaitNewerThan(uint64_t seen, absl::Duration timeout);

 private:
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool up_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::crashloop

#endif  // SURGE_TESTS_CRASHLOOP_ENDPOINT_H_
