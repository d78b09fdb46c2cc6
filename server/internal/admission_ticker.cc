#include "server/internal/admission_ticker.h"

#include "common/thread_name.h"

namespace surge::server::internal {

AdmissionTicker::AdmissionTicker(Admission& admission, Options options)
    : thread_([this, &admission, options] {
        SetCurrentThreadName("surge-admission");
        absl::Duration wait = options.idle_interval;
        while (!stop_.WaitForNotificationWithTimeout(wait)) {
          wait = admission.Observe().backlog_events > 0 ? options.busy_interval
                                                        : options.idle_interval;
        }
      }) {}

AdmissionTicker::~AdmissionTicker() {
  stop_.Notify();
  thread_.join();
}

}  // namespace surge::server::internal
