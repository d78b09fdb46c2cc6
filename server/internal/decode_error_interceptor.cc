#include "server/internal/decode_error_interceptor.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"

namespace surge::server::internal {
namespace {

class DecodeErrorInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit DecodeErrorInterceptor(std::string request_type)
      : request_type_(std::move(request_type)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        methods->ModifySendStatus(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("request could not be decoded as ", request_type_)));
      }
    }
    methods->Proceed();
  }

 private:
  const std::string request_type_;
};

class DecodeErrorInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // "/surge.v1.OrderService/PlaceOrder" -> "surge.v1.OrderService.PlaceOrder"
    std::string name = info->method() != nullptr ? info->method() : "";
    if (name.empty() || name.front() != '/') return nullptr;
    name = absl::StrReplaceAll(name.substr(1), {{"/", "."}});
    const google::protobuf::MethodDescriptor* method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
    if (method == nullptr) return nullptr;  // unknown method: UNIMPLEMENTED is right
    return new DecodeErrorInterceptor(method->input_type()->full_name());
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewDecodeErrorInterceptorFactory() {
  return std::make_unique<DecodeErrorInterceptorFactory>();
}

}  // namespace surge::server::internal
