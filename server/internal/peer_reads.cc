#include "server/internal/peer_reads.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace surge::server::internal {

// One read fanned out to the peers: the first OK answer wins; the callback
// runs once, when a peer answered OK or every peer answered.
struct PeerReads::Call {
  explicit Call(Callback d) : done(std::move(d)) {}
  Callback done;
  absl::Mutex mu;
  int pending ABSL_GUARDED_BY(mu) = 0;
  bool answered ABSL_GUARDED_BY(mu) = false;
  int asked = 0;  // set before the first call starts
  std::string request_id;
  // One slot per peer, alive until every call finished.
  struct Slot {
    grpc::ClientContext context;
    v1::GetCouponRequestRequest request;
    v1::CouponRequest response;
  };
  std::vector<std::unique_ptr<Slot>> slots;
};

PeerReads::PeerReads(Options options, std::function<std::vector<Peer>()> peers)
    : options_(std::move(options)), peers_(std::move(peers)) {}

PeerReads::~PeerReads() {
  absl::MutexLock lock(&shared_->mu);
  shared_->mu.Await(absl::Condition(
      +[](int* in_flight) { return *in_flight == 0; }, &shared_->in_flight));
}

v1::CouponService::Stub* PeerReads::StubFor(const std::string& addr) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<v1::CouponService::Stub>& stub = stubs_[addr];
  if (stub == nullptr) {
    stub = v1::CouponService::NewStub(grpc::CreateChannel(
        addr, options_.credentials != nullptr ? options_.credentials
                                              : grpc::InsecureChannelCredentials()));
  }
  return stub.get();
}

void PeerReads::GetCouponRequestAsync(const std::string& request_id, Callback done) {
  std::vector<Peer> peers = peers_();
  {
    absl::MutexLock lock(&shared_->mu);
    ++shared_->stats.reads;
    if (peers.empty()) ++shared_->stats.not_found;
    shared_->in_flight += static_cast<int>(peers.size());
  }
  if (peers.empty()) {
    return done(absl::NotFoundError(absl::StrCat("coupon request ", request_id, " not found")));
  }
  auto call = std::make_shared<Call>(std::move(done));
  call->request_id = request_id;
  call->asked = static_cast<int>(peers.size());
  {
    absl::MutexLock lock(&call->mu);
    call->pending = call->asked;
  }
  for (const Peer& peer : peers) {
    auto slot = std::make_unique<Call::Slot>();
    slot->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
    slot->context.AddMetadata(kPeerReadHeader, options_.node_id);
    slot->request.set_request_id(request_id);
    call->slots.push_back(std::move(slot));
  }
  // Started after every slot exists: a fast answer must not see the vector
  // grow under it.
  for (size_t i = 0; i < peers.size(); ++i) {
    Call::Slot* slot = call->slots[i].get();
    StubFor(peers[i].grpc_addr)
        ->async()
        ->GetCouponRequest(&slot->context, &slot->request, &slot->response,
                           [shared = shared_, call, slot](grpc::Status status) {
                             Finished(*shared, *call, status, slot->response);
                           });
  }
}

void PeerReads::Finished(Shared& shared, Call& call, const grpc::Status& status,
                         const v1::CouponRequest& answer) {
  bool answer_now = false, last = false;
  {
    absl::MutexLock lock(&call.mu);
    --call.pending;
    if (status.ok() && !call.answered) {
      call.answered = true;
      answer_now = true;
    }
    last = call.pending == 0 && !call.answered;
    if (last) call.answered = true;
  }
  {
    absl::MutexLock lock(&shared.mu);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) ++shared.stats.errors;
    if (answer_now) ++shared.stats.found;
    if (last) ++shared.stats.not_found;
  }
  if (answer_now) {
    call.done(answer);
  } else if (last) {
    call.done(absl::NotFoundError(absl::StrCat("coupon request ", call.request_id,
                                               " not found here nor on ", call.asked,
                                               " other node(s)")));
  }
  absl::MutexLock lock(&shared.mu);
  --shared.in_flight;
}

PeerReads::Stats PeerReads::GetStats() const {
  absl::MutexLock lock(&shared_->mu);
  return shared_->stats;
}

std::shared_ptr<grpc::ChannelCredentials> PeerCredentials(const std::string& cert_pem,
                                                          const std::string& key_pem, bool mutual,
                                                          const std::string& peer_ca_pem) {
  if (cert_pem.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = peer_ca_pem.empty() ? cert_pem : peer_ca_pem;
  if (mutual) {
    ssl.pem_cert_chain = cert_pem;
    ssl.pem_private_key = key_pem;
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace surge::server::internal
