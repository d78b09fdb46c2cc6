#include "clients/reflection/dynamic_client.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/support/byte_buffer.h"

namespace surge::reflection {

DynamicClient::DynamicClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(channel), db_(channel), pool_(&db_), factory_(&pool_), stub_(channel) {}

absl::StatusOr<std::string> DynamicClient::CallUnaryJson(const std::string& method,
                                                         const std::string& request_json,
                                                         absl::Duration timeout) {
  std::string dotted = method;
  if (size_t slash = dotted.rfind('/'); slash != std::string::npos) dotted[slash] = '.';
  const google::protobuf::MethodDescriptor* md = pool_.FindMethodByName(dotted);
  if (md == nullptr) return absl::NotFoundError(absl::StrCat("no method ", method));
  if (md->client_streaming() || md->server_streaming()) {
    return absl::UnimplementedError(absl::StrCat(method, " is not unary"));
  }

  std::unique_ptr<google::protobuf::Message> request(
      factory_.GetPrototype(md->input_type())->New());
  auto parsed = google::protobuf::util::JsonStringToMessage(request_json, request.get());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("request JSON: ", parsed.ToString()));
  }
  std::string wire;
  request->SerializeToString(&wire);
  grpc::Slice slice(wire);
  grpc::ByteBuffer send(&slice, 1);

  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::ByteBuffer received;
  grpc::Status status;
  absl::Notification done;
  // The HTTP/2 path is "/package.Service/Method".
  const std::string path = absl::StrCat("/", md->service()->full_name(), "/", md->name());
  stub_.UnaryCall(&context, path, grpc::StubOptions(), &send, &received, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }

  std::vector<grpc::Slice> slices;
  if (!received.Dump(&slices).ok()) return absl::InternalError("unreadable response");
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  std::unique_ptr<google::protobuf::Message> response(
      factory_.GetPrototype(md->output_type())->New());
  if (!response->ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat("cannot parse ", md->output_type()->full_name()));
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  auto printed = google::protobuf::util::MessageToJsonString(*response, &json, options);
  if (!printed.ok()) return absl::InternalError(printed.ToString());
  return json;
}

}  // namespace surge::reflection
