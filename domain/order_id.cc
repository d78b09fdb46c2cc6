#include "domain/order_id.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "domain/fingerprint.h"

namespace surge::domain {

std::string NewOrderId() {
  // One generator per thread: absl::BitGen is not thread-safe, and a
  // thread_local one needs no lock on the request path.
  thread_local absl::BitGen gen;
  const uint64_t random = absl::Uniform<uint64_t>(gen);
  const uint64_t micros = static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
  return absl::StrFormat("o-%012x-%016x", micros & 0xffffffffffffULL, random);
}

std::string OrderIdFor(absl::string_view request_id) {
  return "o-" + Fingerprint("OrderId").Add(request_id).Digest().substr(0, 32);
}

}  // namespace surge::domain
