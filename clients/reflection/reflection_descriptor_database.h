// A protobuf DescriptorDatabase fed by a server's reflection service
// (grpc.reflection.v1alpha), so a client can use services it has no .proto
// for, as grpcurl does. gRPC ships this class only in its test utilities,
// which Debian does not install; this is our own.
//
//   ReflectionDescriptorDatabase db(channel);
//   absl::StatusOr<std::vector<std::string>> services = db.ListServices();
//   google::protobuf::DescriptorPool pool(&db);
//   const auto* method = pool.FindMethodByName("surge.v1.OrderService.GetOrder");
//
// Holds one bidirectional reflection stream open for its lifetime and caches
// every file it receives. Thread-safe (calls are serialized on the stream).
#ifndef SURGE_CLIENTS_REFLECTION_REFLECTION_DESCRIPTOR_DATABASE_H_
#define SURGE_CLIENTS_REFLECTION_REFLECTION_DESCRIPTOR_DATABASE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace surge::reflection {

class ReflectionDescriptorDatabase : public google::protobuf::DescriptorDatabase {
 public:
  struct Options {
    // Deadline of the whole reflection stream: the database is meant for
    // one short session (list, resolve, call), not to live forever.
    absl::Duration stream_deadline = absl::Seconds(30);
  };

  ReflectionDescriptorDatabase(std::shared_ptr<grpc::Channel> channel, Options options);
  explicit ReflectionDescriptorDatabase(std::shared_ptr<grpc::Channel> channel)
      : ReflectionDescriptorDatabase(std::move(channel), Options()) {}
  ~ReflectionDescriptorDatabase() override;

  // Full names of the services the server exposes, as it lists them.
  absl::StatusOr<std::vector<std::string>> ListServices();

  // DescriptorDatabase: false when the server does not know the file/symbol
  // or the stream failed (the reason is logged).
  bool FindFileByName(const std::string& filename,
                      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingSymbol(const std::string& symbol_name,
                                google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingExtension(const std::string& containing_type, int field_number,
                                   google::protobuf::FileDescriptorProto* output) override;

 private:
  using Request = grpc::reflection::v1alpha::ServerReflectionRequest;
  using Response = grpc::reflection::v1alpha::ServerReflectionResponse;

  // One request/response round trip on the stream.
  absl::StatusOr<Response> Exchange(const Request& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks with `request`, caches every file in the answer, and copies the
  // first one (the one asked for) to `output`.
  bool FetchFiles(const Request& request, google::protobuf::FileDescriptorProto* output)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::reflection::v1alpha::ServerReflection::Stub> stub_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, google::protobuf::FileDescriptorProto> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace surge::reflection

#endif  // SURGE_CLIENTS_REFLECTION_REFLECTION_DESCRIPTOR_DATABASE_H_
