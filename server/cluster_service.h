// surge.v1.ClusterService: who is in the cluster and who decides which
// partition, from any node. A single node answers cluster_mode=false with
// itself as the only member (and no decider partitions: it decides
// everything).
#ifndef SURGE_SERVER_CLUSTER_SERVICE_H_
#define SURGE_SERVER_CLUSTER_SERVICE_H_

#include <functional>
#include <utility>

#include "surge/v1/surge.grpc.pb.h"

namespace surge::server {

class ClusterService final : public v1::ClusterService::CallbackService {
 public:
  // `describe` builds the answer (ClusterNode::Describe, or the single-node
  // one); called on gRPC threads.
  explicit ClusterService(std::function<v1::DescribeClusterResponse()> describe)
      : describe_(std::move(describe)) {}

  grpc::ServerUnaryReactor* DescribeCluster(grpc::CallbackServerContext* context,
                                            const v1::DescribeClusterRequest* request,
                                            v1::DescribeClusterResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    *response = describe_();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const std::function<v1::DescribeClusterResponse()> describe_;
};

}  // namespace surge::server

#endif  // SURGE_SERVER_CLUSTER_SERVICE_H_
