#include "server/event_store_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "domain/validation.h"
#include "server/internal/event_type_filter.h"
#include "server/internal/subscribe_reactor.h"
#include "server/status_mapping.h"

namespace surge::server {
namespace {

// 0 means the default page; larger than the maximum is refused so a client
// never silently gets less than it believes it asked for.
absl::StatusOr<size_t> PageSize(uint32_t max_count) {
  if (absl::Status s = domain::ValidatePageSize("max_count", max_count); !s.ok()) return s;
  return max_count == 0 ? domain::kDefaultPageSize : max_count;
}

}  // namespace

grpc::ServerUnaryReactor* EventStoreService::ReadAll(grpc::CallbackServerContext* context,
                                                     const v1::ReadAllRequest* request,
                                                     v1::ReadAllResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<size_t> page = PageSize(request->max_count());
  if (!page.ok()) {
    reactor->Finish(ToGrpcStatus(page.status()));
    return reactor;
  }
  const uint64_t from = std::max<uint64_t>(request->from_position(), 1);
  // Head first: every event read is then at or below a head no older than it.
  const uint64_t head = store_.HeadPosition();
  absl::StatusOr<std::vector<v1::Event>> events = store_.ReadAll(from, *page);
  if (!events.ok()) {
    reactor->Finish(ToGrpcStatus(events.status()));
    return reactor;
  }
  response->set_next_position(events->empty() ? from : events->back().position() + 1);
  response->set_head_position(std::max(head, store_.HeadPosition()));
  for (v1::Event& event : *events) *response->add_events() = std::move(event);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* EventStoreService::ReadStream(grpc::CallbackServerContext* context,
                                                        const v1::ReadStreamRequest* request,
                                                        v1::ReadStreamResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = domain::ValidateId("stream_id", request->stream_id());
  if (valid.ok() && request->from_version() < 0) {
    valid = absl::InvalidArgumentError(
        absl::StrCat("from_version: must be >= 0, got ", request->from_version()));
  }
  absl::StatusOr<size_t> page = PageSize(request->max_count());
  if (valid.ok()) valid = page.status();
  if (!valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return reactor;
  }
  absl::StatusOr<int64_t> version = store_.StreamVersion(request->stream_id());
  absl::StatusOr<std::vector<v1::Event>> events =
      version.ok() ? store_.ReadStream(request->stream_id(), request->from_version(), *page)
                   : absl::StatusOr<std::vector<v1::Event>>(version.status());
  if (!events.ok()) {
    reactor->Finish(ToGrpcStatus(events.status()));
    return reactor;
  }
  int64_t current = *version;
  for (v1::Event& event : *events) {
    current = std::max(current, event.stream_version());
    *response->add_events() = std::move(event);
  }
  response->set_current_version(current);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<v1::Event>* EventStoreService::Subscribe(
    grpc::CallbackServerContext* /*context*/, const v1::SubscribeRequest* request) {
  const std::vector<std::string> types(request->event_types().begin(),
                                      request->event_types().end());
  absl::StatusOr<internal::EventTypeFilter> filter = internal::EventTypeFilter::Parse(types);
  if (!filter.ok()) return new internal::RejectedStream(ToGrpcStatus(filter.status()));
  auto* reactor = new internal::SubscribeReactor(registry_, *std::move(filter));
  // Registered before the pump starts, so StopAll() cannot miss it.
  if (!registry_.TryAdd(reactor)) {
    delete reactor;  // never handed to gRPC
    return new internal::RejectedStream(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "too many concurrent Subscribe streams (or the server is shutting down)"));
  }
  reactor->Start(store_.Subscribe(std::max<uint64_t>(request->from_position(), 1)));
  return reactor;
}

}  // namespace surge::server
