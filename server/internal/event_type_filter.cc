#include "server/internal/event_type_filter.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace surge::server::internal {

absl::StatusOr<EventTypeFilter> EventTypeFilter::Parse(absl::Span<const std::string> names) {
  const google::protobuf::OneofDescriptor* payload =
      v1::Event::descriptor()->FindOneofByName("payload");
  EventTypeFilter filter;
  for (const std::string& name : names) {
    const google::protobuf::FieldDescriptor* field = v1::Event::descriptor()->FindFieldByName(name);
    if (field == nullptr || field->containing_oneof() != payload) {
      std::vector<std::string> known;
      for (int i = 0; i < payload->field_count(); ++i) known.push_back(payload->field(i)->name());
      return absl::InvalidArgumentError(absl::StrCat("event_types: unknown event type '", name,
                                                     "'; known: ", absl::StrJoin(known, ", ")));
    }
    filter.cases_.insert(field->number());
  }
  return filter;
}

}  // namespace surge::server::internal
