// A minimal HTTP/1.0 GET on loopback for the metrics tests (the /metrics
// endpoint, Prometheus' HTTP API). No TLS, no redirects, no chunking: the
// servers it talks to answer HTTP/1.0 with the whole body.
#ifndef SURGE_TESTS_METRICS_HTTP_GET_H_
#define SURGE_TESTS_METRICS_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace surge::testing {

struct HttpResponse {
  int status = 0;    // e.g. 200
  std::string body;  // everything after the headers
};

// GET http://127.0.0.1:<port><path_and_query>. UNAVAILABLE when the
// connection fails; DEADLINE_EXCEEDED when the answer takes over `timeout`;
// INTERNAL for a response that is not HTTP.
absl::StatusOr<HttpResponse> HttpGet(int port, absl::string_view path_and_query,
                                     absl::Duration timeout = absl::Seconds(10));

// Percent-encodes everything but unreserved characters, for a query value.
std::string UrlEncode(absl::string_view value);

}  // namespace surge::testing

#endif  // SURGE_TESTS_METRICS_HTTP_GET_H_
