// Blocking form of a callback-style call: starts it and waits for its one
// answer. The domain cores are asynchronous (the gRPC layer never blocks a
// thread per call); tests and tools use these blocking wrappers.
//
//   absl::StatusOr<Result> r = AwaitAnswer<Result>([&](auto done) { AsyncCall(args, done); });
#ifndef SURGE_DOMAIN_INTERNAL_AWAIT_H_
#define SURGE_DOMAIN_INTERNAL_AWAIT_H_

#include <functional>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"

namespace surge::domain::internal {

// `start` must call the callback it is given exactly once, on any thread.
template <typename T, typename Start>
absl::StatusOr<T> AwaitAnswer(Start start) {
  absl::Notification done;
  absl::StatusOr<T> result = absl::UnknownError("no answer");
  start(std::function<void(absl::StatusOr<T>)>([&](absl::StatusOr<T> r) {
    result = std::move(r);
    done.Notify();
  }));
  done.WaitForNotification();
  return result;
}

}  // namespace surge::domain::internal

#endif  // SURGE_DOMAIN_INTERNAL_AWAIT_H_
