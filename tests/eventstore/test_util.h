// Helpers shared by the event store tests: a scratch directory, event
// builders, and a way to hold the appender still so tests can decide what
// lands in one batch.
#ifndef SURGE_TESTS_EVENTSTORE_TEST_UTIL_H_
#define SURGE_TESTS_EVENTSTORE_TEST_UTIL_H_

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "eventstore/event_store.h"

namespace surge::eventstore::testing {

// A fresh directory under TMPDIR, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "surge-eventstore-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // A not-yet-existing data dir inside the scratch dir.
  std::string data() const { return path_ + "/data"; }

 private:
  std::string path_;
};

inline v1::Event CouponEvent(const std::string& stream_id, const std::string& request_id = "r") {
  v1::Event event;
  event.set_stream_id(stream_id);
  event.set_request_id(request_id);
  event.mutable_coupon_requested()->set_request_id(request_id);
  event.mutable_coupon_requested()->set_user_id("user");
  event.mutable_coupon_requested()->set_code("CODE");
  return event;
}

inline AppendRequest OneEvent(const std::string& stream_id, int64_t expected = kAnyVersion) {
  AppendRequest request;
  request.events.push_back(CouponEvent(stream_id));
  if (expected != kAnyVersion) request.expected_versions[stream_id] = expected;
  return request;
}

// Holds the appender thread inside the batch observer of the next committed
// batch until Release(), so that everything queued meanwhile is taken as
// one batch afterwards. Must outlive the store; Release() before the store
// is destroyed (the destructor waits for the appender).
class AppenderPause {
 public:
  void Install(EventStore& store) {
    store.SetBatchObserver([this](size_t, absl::Duration) {
      if (armed_.exchange(false)) {
        paused_.Notify();
        release_.WaitForNotification();
      }
    });
  }
  // True once the appender is held (bounded wait).
  bool WaitUntilPaused() { return paused_.WaitForNotificationWithTimeout(absl::Seconds(10)); }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

 private:
  std::atomic<bool> armed_{true};
  absl::Notification paused_;
  absl::Notification release_;
};

}  // namespace surge::eventstore::testing

#endif  // SURGE_TESTS_EVENTSTORE_TEST_UTIL_H_
