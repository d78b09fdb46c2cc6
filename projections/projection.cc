#include "projections/projection.h"

#include <utility>

namespace surge::projections {

v1::Event EmittedBy(const v1::Event& cause, std::string stream_id) {
  v1::Event event;
  event.set_stream_id(std::move(stream_id));
  event.set_correlation_id(cause.correlation_id());
  event.set_causation_id(cause.event_id());
  return event;
}

}  // namespace surge::projections
