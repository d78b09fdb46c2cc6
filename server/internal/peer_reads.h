// Reads a coupon request from the other nodes of a cluster when this node's
// read model does not have it.
//
// Why: a rejected coupon request is a view-only row (ARCHITECTURE.md §7): the
// views write it, but deciders' states and snapshots leave it out so that a
// flash sale's refusals do not grow them. A node whose view resumed from a
// snapshot (it joined after the broker's retention dropped the partition's
// first records, or it came back without its disk) therefore lacks the
// refusals decided before that snapshot, while the nodes that followed the
// whole changelog have them. A GetCouponRequest that finds nothing here asks
// the live peers (from the membership heartbeats), so that every node
// answers as the others do. A peer answers from its own read model only: the
// call carries kPeerReadHeader, and a node that sees it never asks further.
//
//   PeerReads peers(options, [&] { return cluster->Peers(); });
//   peers.GetCouponRequestAsync("req-1", [](absl::StatusOr<v1::CouponRequest> r) {...});
//
// Thread-safety: thread-safe. The callback runs on a gRPC thread (or the
// caller's, when there is no peer to ask).
#ifndef SURGE_SERVER_INTERNAL_PEER_READS_H_
#define SURGE_SERVER_INTERNAL_PEER_READS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::server::internal {

// Metadata key of a read sent by a peer (its value: the asking node's id).
inline constexpr char kPeerReadHeader[] = "surge-peer-read";

class PeerReads {
 public:
  struct Options {
    // Bound on each peer's answer. A peer that is gone (SIGKILLed, its
    // heartbeats not stale yet) refuses the connection at once; a paused
    // one costs this much.
    absl::Duration timeout = absl::Seconds(1);
    // How this node dials its peers: insecure by default; with TLS, the
    // roots that sign the peers' certificates (and this node's own
    // certificate when they require one). Built by PeerCredentials.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    std::string node_id;  // sent in kPeerReadHeader
  };

  struct Peer {
    std::string node_id;
    std::string grpc_addr;
  };

  struct Stats {
    uint64_t reads = 0;      // reads that asked the peers
    uint64_t found = 0;      // answered by a peer
    uint64_t not_found = 0;  // no peer had it
    uint64_t errors = 0;     // peer calls that failed (other than NOT_FOUND)
  };

  using Callback = std::function<void(absl::StatusOr<v1::CouponRequest>)>;

  // `peers` lists the live members other than this node (any thread).
  PeerReads(Options options, std::function<std::vector<Peer>()> peers);
  // Waits for the peer calls still in flight (each bounded by the timeout):
  // an answer may have come from one peer while the others still run.
  ~PeerReads();
  PeerReads(const PeerReads&) = delete;
  PeerReads& operator=(const PeerReads&) = delete;

  // Asks every peer at once; the first that has the request answers.
  // NOT_FOUND when none has it (or there is no peer).
  void GetCouponRequestAsync(const std::string& request_id, Callback done);

  Stats GetStats() const;

 private:
  struct Call;
  // What the calls' callbacks touch, shared with them: it outlives this
  // object while a peer call is still in flight.
  struct Shared {
    absl::Mutex mu;
    Stats stats ABSL_GUARDED_BY(mu);
    int in_flight ABSL_GUARDED_BY(mu) = 0;  // peer calls started, not finished
  };
  v1::CouponService::Stub* StubFor(const std::string& addr);
  static void Finished(Shared& shared, Call& call, const grpc::Status& status,
                       const v1::CouponRequest& answer);

  const Options options_;
  const std::function<std::vector<Peer>()> peers_;
  const std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  absl::Mutex mu_;
  // One stub (and channel) per peer address, kept for the node's life.
  std::map<std::string, std::unique_ptr<v1::CouponService::Stub>> stubs_ ABSL_GUARDED_BY(mu_);
};

// The credentials a node dials its peers with: insecure without TLS
// (`cert_pem` empty); with TLS, `peer_ca_pem` as the roots (when empty, the
// node's own certificate chain: right when the nodes share one certificate
// or it holds the CA), and the node's certificate and key as its client
// identity when the servers require one (`mutual`).
std::shared_ptr<grpc::ChannelCredentials> PeerCredentials(const std::string& cert_pem,
                                                          const std::string& key_pem, bool mutual,
                                                          const std::string& peer_ca_pem);

}  // namespace surge::server::internal

#endif  // SURGE_SERVER_INTERNAL_PEER_READS_H_
