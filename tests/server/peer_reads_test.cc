// PeerReads against in-process CouponService peers on loopback: the first
// peer that has the request answers, NOT_FOUND only when none has it, the
// peer sees the peer-read header (so it never asks further), and an
// unreachable peer is an error, not an answer.
#include "server/internal/peer_reads.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::server::internal {
namespace {

// A peer that knows some coupon requests and records the peer-read header
// of every call.
class FakePeer final : public v1::CouponService::CallbackService {
 public:
  explicit FakePeer(std::vector<std::string> known) : known_(std::move(known)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakePeer() override { server_->Shutdown(); }

  grpc::ServerUnaryReactor* GetCouponRequest(grpc::CallbackServerContext* context,
                                             const v1::GetCouponRequestRequest* request,
                                             v1::CouponRequest* response) override {
    {
      absl::MutexLock lock(&mu_);
      auto it = context->client_metadata().find(kPeerReadHeader);
      headers_.push_back(it == context->client_metadata().end()
                             ? std::string("(none)")
                             : std::string(it->second.data(), it->second.size()));
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    for (const std::string& id : known_) {
      if (id == request->request_id()) {
        response->set_request_id(id);
        response->set_status(v1::COUPON_REQUEST_STATUS_REJECTED);
        response->set_reason(v1::COUPON_REJECT_REASON_SOLD_OUT);
        reactor->Finish(grpc::Status::OK);
        return reactor;
      }
    }
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "not here"));
    return reactor;
  }

  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> headers() {
    absl::MutexLock lock(&mu_);
    return headers_;
  }

 private:
  const std::vector<std::string> known_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  std::vector<std::string> headers_ ABSL_GUARDED_BY(mu_);
};

// A loopback port nothing listens on (bound by a socket that never
// listens, then closed).
std::string ClosedAddr() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

absl::StatusOr<v1::CouponRequest> Read(PeerReads& peers, const std::string& id) {
  absl::Notification done;
  absl::StatusOr<v1::CouponRequest> result;
  peers.GetCouponRequestAsync(id, [&](absl::StatusOr<v1::CouponRequest> r) {
    result = std::move(r);
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10))) << "no answer for " << id;
  return result;
}

PeerReads::Options TestOptions() {
  PeerReads::Options options;
  options.node_id = "n9";
  options.timeout = absl::Seconds(5);
  return options;
}

TEST(PeerReadsTest, ThePeerThatHasTheRequestAnswers) {
  FakePeer empty({});
  FakePeer holder({"req-1"});
  PeerReads peers(TestOptions(), [&] {
    return std::vector<PeerReads::Peer>{{"n1", empty.addr()}, {"n2", holder.addr()}};
  });
  absl::StatusOr<v1::CouponRequest> r = Read(peers, "req-1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->request_id(), "req-1");
  EXPECT_EQ(r->status(), v1::COUPON_REQUEST_STATUS_REJECTED);
  EXPECT_EQ(r->reason(), v1::COUPON_REJECT_REASON_SOLD_OUT);
  // Asked as a peer read from n9: it answers from its own read model and
  // never asks further.
  EXPECT_EQ(holder.headers(), std::vector<std::string>{"n9"});
  const PeerReads::Stats stats = peers.GetStats();
  EXPECT_EQ(stats.reads, 1u);
  EXPECT_EQ(stats.found, 1u);
  EXPECT_EQ(stats.not_found, 0u);
  EXPECT_EQ(stats.errors, 0u);
}

TEST(PeerReadsTest, NotFoundWhenNoPeerHasIt) {
  FakePeer a({"other"});
  FakePeer b({});
  PeerReads peers(TestOptions(), [&] {
    return std::vector<PeerReads::Peer>{{"n1", a.addr()}, {"n2", b.addr()}};
  });
  absl::StatusOr<v1::CouponRequest> r = Read(peers, "req-1");
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("2 other node(s)"), std::string::npos) << r.status();
  EXPECT_EQ(peers.GetStats().not_found, 1u);
  EXPECT_EQ(peers.GetStats().errors, 0u);
}

TEST(PeerReadsTest, NoPeerMeansNotFoundAtOnce) {
  PeerReads peers(TestOptions(), [] { return std::vector<PeerReads::Peer>{}; });
  absl::StatusOr<v1::CouponRequest> r = Read(peers, "req-1");
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_EQ(peers.GetStats().reads, 1u);
  EXPECT_EQ(peers.GetStats().not_found, 1u);
}

TEST(PeerReadsTest, AnUnreachablePeerIsAnErrorAndTheOthersStillAnswer) {
  FakePeer holder({"req-1"});
  const std::string gone = ClosedAddr();
  PeerReads peers(TestOptions(), [&] {
    return std::vector<PeerReads::Peer>{{"n1", gone}, {"n2", holder.addr()}};
  });
  absl::StatusOr<v1::CouponRequest> found = Read(peers, "req-1");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->request_id(), "req-1");

  PeerReads only_gone(TestOptions(), [&] {
    return std::vector<PeerReads::Peer>{{"n1", gone}};
  });
  absl::StatusOr<v1::CouponRequest> r = Read(only_gone, "req-1");
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_EQ(only_gone.GetStats().errors, 1u);
}

}  // namespace
}  // namespace surge::server::internal
