#include "server/internal/admission_ticker.h"

#include "common/thread_name.h"

namespace surge::server::internal {

AdmissionTicker::AdmissionTicker(Admission& admission, Options options)
    : thread_([this, &admission, options] {
        SetCurrentThreadName("surge-admission");
        absl::Duration wait = options.idle_interval;
        bool deciding = false;
        while (!stop_.WaitForNotificationWithTimeout(wait)) {
          const Admission::Figures figures = admission.Observe();
          if (figures.deciding && !deciding) {
            deciding = true;
            if (options.on_deciding) options.on_deciding();
          }
          wait = figures.backlog_events > 0 ? options.busy_interval : options.idle_interval;
        }
      }) {}

AdmissionTicker::~AdmissionTicker() {
  stop_.Notify();
  thread_.join();
}

}  // namespace surge::server::internal
