// Observes an Admission on its own thread, often while a backlog is queued,
// so that the decision rate is measured while a burst drains (no command
// arrives then to call Admit) and not only at admissions and scrapes.
//
//   AdmissionTicker ticker(admission, {});  // stops and joins when destroyed
//
// Thread-safety: owns one thread; construct and destroy from one thread.
// The Admission must outlive it.
#ifndef SURGE_SERVER_INTERNAL_ADMISSION_TICKER_H_
#define SURGE_SERVER_INTERNAL_ADMISSION_TICKER_H_

#include <functional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/internal/admission.h"

namespace surge::server::internal {

class AdmissionTicker {
 public:
  struct Options {
    // Between observations while a backlog is queued: many per rate sample
    // (Admission::Options::rate_sample), a few per pipeline round.
    absl::Duration busy_interval = absl::Milliseconds(20);
    // Between observations while nothing is queued: a few wake-ups a
    // second, negligible at idle; a burst's commands call Admit anyway.
    absl::Duration idle_interval = absl::Milliseconds(250);
    // Called once, on the ticker's thread, when an observation first finds
    // the pipeline deciding (warm-up over). May be empty.
    std::function<void()> on_deciding;
  };

  AdmissionTicker(Admission& admission, Options options);
  ~AdmissionTicker();
  AdmissionTicker(const AdmissionTicker&) = delete;
  AdmissionTicker& operator=(const AdmissionTicker&) = delete;

 private:
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_ADMISSION_TICKER_H_
