// Blocking surge.v1 calls against one node's channel, with deadlines, for
// the cluster tests. Every call returns an absl::Status carrying the gRPC
// code and message, so a test can say exactly what a node answered.
//
//   auto order = rpc::GetOrder(channel, order_id, /*wait_ms=*/30000);
//
// Thread-safe (stateless; gRPC channels are thread-safe).
#ifndef SURGE_TESTS_CLUSTER_RPC_H_
#define SURGE_TESTS_CLUSTER_RPC_H_

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "surge/v1/events.pb.h"
#include "surge/v1/surge.grpc.pb.h"
#include "surge/v1/surge.pb.h"

namespace surge::cluster_test::rpc {

using Channel = std::shared_ptr<grpc::Channel>;

// grpc::Status -> absl::Status with the same code and message.
absl::Status ToAbsl(const grpc::Status& status);

// Deadline of a call that does not wait for settlement.
inline constexpr absl::Duration kCallTimeout = absl::Seconds(10);

absl::Status AdjustStock(const Channel& ch, const std::string& request_id, const std::string& sku,
                         int64_t delta, absl::Duration timeout = kCallTimeout);
absl::StatusOr<v1::Stock> GetStock(const Channel& ch, const std::string& sku,
                                   absl::Duration timeout = kCallTimeout);

absl::StatusOr<v1::PlaceOrderResponse> PlaceOrder(
    const Channel& ch, const std::string& request_id, const std::string& user_id,
    const std::vector<std::pair<std::string, int64_t>>& lines,
    absl::Duration timeout = kCallTimeout);
// Waits up to wait_ms on the server for the order to settle.
absl::StatusOr<v1::Order> GetOrder(const Channel& ch, const std::string& order_id,
                                   int64_t wait_ms = 0);

absl::Status CreateCampaign(const Channel& ch, const std::string& request_id,
                            const std::string& code, int64_t total_quantity,
                            int64_t per_user_limit = 1);
absl::StatusOr<v1::RequestCouponResponse> RequestCoupon(const Channel& ch,
                                                        const std::string& request_id,
                                                        const std::string& user_id,
                                                        const std::string& code,
                                                        absl::Duration timeout = kCallTimeout);
absl::StatusOr<v1::Campaign> GetCampaign(const Channel& ch, const std::string& code,
                                         absl::Duration timeout = kCallTimeout);

// DeadLetterService (the cluster's nodes run without an admin token).
absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(const Channel& ch,
                                                            const std::string& topic);
absl::StatusOr<v1::ReplayDeadLetterResponse> ReplayDeadLetter(const Channel& ch,
                                                              const std::string& id);
// Waits up to wait_ms on the server for the request to be decided.
absl::StatusOr<v1::CouponRequest> GetCouponRequest(const Channel& ch, const std::string& request_id,
                                                   int64_t wait_ms = 0);

// The node's whole log, ReadAll page by page (1,000 a page).
absl::StatusOr<std::vector<v1::Event>> ReadWholeLog(const Channel& ch,
                                                    absl::Duration timeout = absl::Seconds(60));

absl::StatusOr<v1::DescribeClusterResponse> DescribeCluster(const Channel& ch,
                                                            absl::Duration timeout = kCallTimeout);

// Polls `condition` every `poll` until it returns true or `timeout` passes.
// On timeout: DEADLINE_EXCEEDED naming `what` and the last detail that
// `condition` wrote (why it was not yet true).
absl::Status WaitFor(const std::string& what, absl::Duration timeout,
                     const std::function<bool(std::string* detail)>& condition,
                     absl::Duration poll = absl::Milliseconds(150));

}  // namespace surge::cluster_test::rpc

#endif  // SURGE_TESTS_CLUSTER_RPC_H_
