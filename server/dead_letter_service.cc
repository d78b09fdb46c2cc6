#include "server/dead_letter_service.h"

#include <utility>

#include "server/status_mapping.h"

namespace surge::server {
namespace {
// Listing limits: 0 means the default page, more than kMaxLimit is refused
// so one call cannot return an unbounded response.
constexpr uint32_t kDefaultLimit = 100;
constexpr uint32_t kMaxLimit = 1000;
}  // namespace

grpc::ServerUnaryReactor* DeadLetterService::ListDeadLetters(
    grpc::CallbackServerContext* context, const v1::ListDeadLettersRequest* request,
    v1::ListDeadLettersResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status s = auth_.Check(*context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  if (request->limit() > kMaxLimit) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "limit: must be at most 1000"));
    return reactor;
  }
  const uint32_t limit = request->limit() == 0 ? kDefaultLimit : request->limit();
  absl::StatusOr<std::vector<v1::DeadLetter>> entries =
      dead_letters_.List(request->topic(), limit);
  if (!entries.ok()) {
    reactor->Finish(ToGrpcStatus(entries.status()));
    return reactor;
  }
  for (v1::DeadLetter& entry : *entries) *response->add_entries() = std::move(entry);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* DeadLetterService::ReplayDeadLetter(
    grpc::CallbackServerContext* context, const v1::ReplayDeadLetterRequest* request,
    v1::ReplayDeadLetterResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status s = auth_.Check(*context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  if (request->id().empty() || request->id().size() > 512) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "id: must be 1-512 bytes (as listed by ListDeadLetters)"));
    return reactor;
  }
  auto outcome = dead_letters_.Replay(request->id());
  if (!outcome.ok()) {
    reactor->Finish(ToGrpcStatus(outcome.status()));
    return reactor;
  }
  response->set_applied(outcome->applied);
  response->set_result(outcome->result);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace surge::server
