#include "clients/reflection/reflection_descriptor_database.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace surge::reflection {

using google::protobuf::FileDescriptorProto;

ReflectionDescriptorDatabase::ReflectionDescriptorDatabase(std::shared_ptr<grpc::Channel> channel,
                                                           Options options)
    : channel_(std::move(channel)),
      stub_(grpc::reflection::v1alpha::ServerReflection::NewStub(channel_)) {
  context_.set_deadline(absl::ToChronoTime(absl::Now() + options.stream_deadline));
}

ReflectionDescriptorDatabase::~ReflectionDescriptorDatabase() {
  absl::MutexLock lock(&mu_);
  if (stream_ != nullptr) {
    stream_->WritesDone();
    grpc::Status status = stream_->Finish();
    if (!status.ok()) {
      SURGE_LOG(DEBUG, "reflection") << "stream ended: " << status.error_message();
    }
  }
}

absl::StatusOr<ReflectionDescriptorDatabase::Response> ReflectionDescriptorDatabase::Exchange(
    const Request& request) {
  if (stream_ == nullptr) stream_ = stub_->ServerReflectionInfo(&context_);
  Response response;
  if (!stream_->Write(request) || !stream_->Read(&response)) {
    grpc::Status status = stream_->Finish();
    stream_.reset();
    return absl::UnavailableError(absl::StrCat("reflection stream failed: ", status.error_code(),
                                               " ", status.error_message()));
  }
  if (response.has_error_response()) {
    // NOT_FOUND (5) is the normal "no such symbol" answer.
    return absl::Status(static_cast<absl::StatusCode>(response.error_response().error_code()),
                        response.error_response().error_message());
  }
  return response;
}

absl::StatusOr<std::vector<std::string>> ReflectionDescriptorDatabase::ListServices() {
  absl::MutexLock lock(&mu_);
  Request request;
  request.set_list_services("");
  absl::StatusOr<Response> response = Exchange(request);
  if (!response.ok()) return response.status();
  std::vector<std::string> names;
  for (const auto& service : response->list_services_response().service()) {
    names.push_back(service.name());
  }
  return names;
}

bool ReflectionDescriptorDatabase::FetchFiles(const Request& request, FileDescriptorProto* output) {
  absl::StatusOr<Response> response = Exchange(request);
  if (!response.ok()) {
    SURGE_LOG(DEBUG, "reflection") << response.status();
    return false;
  }
  const auto& blobs = response->file_descriptor_response().file_descriptor_proto();
  bool first = true;
  for (const std::string& blob : blobs) {
    FileDescriptorProto file;
    if (!file.ParseFromString(blob)) {
      SURGE_LOG(WARNING, "reflection") << "server sent an unparsable file descriptor";
      return false;
    }
    if (first) *output = file;
    first = false;
    files_.emplace(file.name(), std::move(file));
  }
  return !first;
}

bool ReflectionDescriptorDatabase::FindFileByName(const std::string& filename,
                                                  FileDescriptorProto* output) {
  absl::MutexLock lock(&mu_);
  if (auto it = files_.find(filename); it != files_.end()) {
    *output = it->second;
    return true;
  }
  Request request;
  request.set_file_by_filename(filename);
  return FetchFiles(request, output);
}

bool ReflectionDescriptorDatabase::FindFileContainingSymbol(const std::string& symbol_name,
                                                            FileDescriptorProto* output) {
  absl::MutexLock lock(&mu_);
  Request request;
  request.set_file_containing_symbol(symbol_name);
  return FetchFiles(request, output);
}

bool ReflectionDescriptorDatabase::FindFileContainingExtension(const std::string& containing_type,
                                                               int field_number,
                                                               FileDescriptorProto* output) {
  absl::MutexLock lock(&mu_);
  Request request;
  request.mutable_file_containing_extension()->set_containing_type(containing_type);
  request.mutable_file_containing_extension()->set_extension_number(field_number);
  return FetchFiles(request, output);
}

}  // namespace surge::reflection
