// Calls unary RPCs by name with JSON in and JSON out, using only what the
// server's reflection service describes, as grpcurl does:
//
//   DynamicClient client(channel);
//   absl::StatusOr<std::string> json = client.CallUnaryJson(
//       "surge.v1.OrderService/GetOrder", R"({"order_id":"o-1"})");
//
// Messages are built with DynamicMessageFactory from descriptors resolved
// through ReflectionDescriptorDatabase and sent as raw bytes on a
// grpc::GenericStub. Thread-compatible: use one client per thread.
#ifndef SURGE_CLIENTS_REFLECTION_DYNAMIC_CLIENT_H_
#define SURGE_CLIENTS_REFLECTION_DYNAMIC_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "clients/reflection/reflection_descriptor_database.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "grpcpp/generic/generic_stub.h"

namespace surge::reflection {

class DynamicClient {
 public:
  explicit DynamicClient(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<std::vector<std::string>> ListServices() { return db_.ListServices(); }

  // `method` is "package.Service/Method" or "package.Service.Method".
  // NotFound when reflection does not know it; InvalidArgument for bad JSON;
  // otherwise the RPC's own status.
  absl::StatusOr<std::string> CallUnaryJson(const std::string& method,
                                            const std::string& request_json,
                                            absl::Duration timeout = absl::Seconds(10));

 private:
  std::shared_ptr<grpc::Channel> channel_;
  ReflectionDescriptorDatabase db_;
  google::protobuf::DescriptorPool pool_;
  google::protobuf::DynamicMessageFactory factory_;
  grpc::GenericStub stub_;
};

}  // namespace surge::reflection

#endif  // SURGE_CLIENTS_REFLECTION_DYNAMIC_CLIENT_H_
