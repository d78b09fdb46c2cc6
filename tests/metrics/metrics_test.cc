#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace surge::metrics {
namespace {

// Minimal HTTP/1.0 GET on loopback; returns the whole response.
std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  (void)::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  ::close(fd);
  return out;
}

TEST(MetricsTest, ServesRecordedInstrumentsOverHttp) {
  auto metrics = Metrics::Create({.listen_address = "127.0.0.1:0"});
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_GT((*metrics)->port(), 0);
  (*metrics)->RecordRpc("surge.v1.OrderService/PlaceOrder", "OK", absl::Milliseconds(2));
  (*metrics)->RecordAppendBatch(17, absl::Microseconds(300));
  (*metrics)->RegisterCallback("surge_projection_dead_lettered_total", "Dead letters.",
                               Metrics::Kind::kCounter, [] {
                                 return std::vector<Sample>{{{{"topic", "surge.coupons"}}, 1}};
                               });
  (*metrics)->RegisterCallback("surge_log_head_position", "Log head.", Metrics::Kind::kGauge, [] {
    return std::vector<Sample>{{{}, 42}};
  });

  std::string body = HttpGet((*metrics)->port(), "/metrics");
  EXPECT_TRUE(absl::StrContains(body, "200 OK")) << body.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(
      body,
      "surge_grpc_server_handled_total{code=\"OK\",method=\"surge.v1.OrderService/PlaceOrder\"} 1"))
      << body;
  EXPECT_TRUE(absl::StrContains(body, "surge_eventstore_append_batch_size_count 1")) << body;
  EXPECT_TRUE(
      absl::StrContains(body, "surge_projection_dead_lettered_total{topic=\"surge.coupons\"} 1"))
      << body;
  EXPECT_TRUE(absl::StrContains(body, "surge_log_head_position 42")) << body;
}

TEST(MetricsTest, MethodLabelCardinalityIsBounded) {
  auto metrics = Metrics::Create({.listen_address = ""});
  ASSERT_TRUE(metrics.ok());
  for (int i = 0; i < 500; ++i) {
    (*metrics)->RecordRpc(absl::StrCat("bogus/method", i), "UNIMPLEMENTED", absl::Milliseconds(1));
  }
  std::string text = (*metrics)->RenderText();
  EXPECT_TRUE(absl::StrContains(text, "method=\"other\"")) << text.substr(0, 500);
  EXPECT_FALSE(absl::StrContains(text, "bogus/method499"));
}

TEST(MetricsTest, HistogramCallbackRendersCumulativeBuckets) {
  auto metrics = Metrics::Create({.listen_address = ""});
  ASSERT_TRUE(metrics.ok());
  // Per-bucket counts 2, 0, 3 and 4 above every bound; one extra trailing
  // entry beyond the declared buckets still counts towards +Inf.
  (*metrics)->RegisterHistogramCallback("surge_test_batch_size", "Test.", {1, 4, 16}, [] {
    return std::vector<HistogramSample>{{{{"projection", "stock"}}, {2, 0, 3, 4, 1}, 99.5}};
  });
  const std::string text = (*metrics)->RenderText();
  EXPECT_TRUE(absl::StrContains(text, "# TYPE surge_test_batch_size histogram")) << text;
  EXPECT_TRUE(
      absl::StrContains(text, "surge_test_batch_size_bucket{projection=\"stock\",le=\"1\"} 2"))
      << text;
  EXPECT_TRUE(
      absl::StrContains(text, "surge_test_batch_size_bucket{projection=\"stock\",le=\"4\"} 2"))
      << text;
  EXPECT_TRUE(
      absl::StrContains(text, "surge_test_batch_size_bucket{projection=\"stock\",le=\"16\"} 5"))
      << text;
  EXPECT_TRUE(
      absl::StrContains(text, "surge_test_batch_size_bucket{projection=\"stock\",le=\"+Inf\"} 10"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "surge_test_batch_size_count{projection=\"stock\"} 10"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "surge_test_batch_size_sum{projection=\"stock\"} 99.5"))
      << text;
}

TEST(MetricsTest, PromtoolAcceptsTheOutput) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (scripts/install-deps.sh installs it)";
  }
  auto metrics = Metrics::Create({.listen_address = ""});
  ASSERT_TRUE(metrics.ok());
  (*metrics)->RecordRpc("surge.v1.CouponService/RequestCoupon", "RESOURCE_EXHAUSTED",
                        absl::Milliseconds(1));
  (*metrics)->RecordAppendBatch(3, absl::Microseconds(250));
  (*metrics)->RegisterHistogramCallback(
      "surge_projection_batch_size", "Messages per batch.", {1, 2, 4}, [] {
        return std::vector<HistogramSample>{{{{"projection", "coupons"}}, {1, 0, 2, 1}, 17}};
      });
  (*metrics)->RegisterCallback("surge_projection_retries_total", "Retries.",
                               Metrics::Kind::kCounter, [] {
                                 return std::vector<Sample>{{{{"projection", "coupons"}}, 3}};
                               });
  (*metrics)->RegisterCallback("surge_coupons_remaining", "Coupons left per campaign.",
                               Metrics::Kind::kGauge, [] {
                                 return std::vector<Sample>{{{{"campaign", "FLASH"}}, 5}};
                               });
  std::string path = ::testing::TempDir() + "/metrics.txt";
  std::ofstream(path) << (*metrics)->RenderText();
  int rc = std::system(("promtool check metrics < " + path + " > " + path + ".out 2>&1").c_str());
  std::ifstream in(path + ".out");
  std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << report;
}

}  // namespace
}  // namespace surge::metrics
