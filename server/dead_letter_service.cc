#include "server/dead_letter_service.h"

#include "absl/strings/str_cat.h"

namespace surge::server {

grpc::ServerUnaryReactor* DeadLetterService::Unimplemented(grpc::CallbackServerContext* context,
                                                           const char* method) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status s = auth_.Check(*context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                               absl::StrCat(method, ": dead letters are not served yet")));
  return reactor;
}

grpc::ServerUnaryReactor* DeadLetterService::ListDeadLetters(
    grpc::CallbackServerContext* context, const v1::ListDeadLettersRequest* /*request*/,
    v1::ListDeadLettersResponse* /*response*/) {
  return Unimplemented(context, "ListDeadLetters");
}

grpc::ServerUnaryReactor* DeadLetterService::ReplayDeadLetter(
    grpc::CallbackServerContext* context, const v1::ReplayDeadLetterRequest* /*request*/,
    v1::ReplayDeadLetterResponse* /*response*/) {
  return Unimplemented(context, "ReplayDeadLetter");
}

}  // namespace surge::server
