#include "clients/cli/printer.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"

namespace surge::cli {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// "OrderStatus" -> "ORDER_STATUS_".
std::string EnumPrefix(const std::string& type_name) {
  std::string prefix;
  for (size_t i = 0; i < type_name.size(); ++i) {
    const char c = type_name[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c))) prefix += '_';
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return prefix + "_";
}

std::string FormatTimestamp(const Message& m) {
  const auto* ts = dynamic_cast<const google::protobuf::Timestamp*>(&m);
  if (ts == nullptr) return m.ShortDebugString();
  absl::Time t = absl::FromUnixSeconds(ts->seconds()) + absl::Nanoseconds(ts->nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

// Bytes are shown escaped and cut short: a DLT value can be large.
std::string FormatBytes(const std::string& bytes) {
  constexpr size_t kMax = 120;
  std::string shown = absl::CHexEscape(bytes.substr(0, kMax));
  if (bytes.size() > kMax) absl::StrAppend(&shown, "... (", bytes.size(), " bytes)");
  return shown;
}

void FlattenInto(const Message& m, const std::string& prefix, KeyValues* out);

// Appends one value of `field` (index -1 = singular).
void FlattenValue(const Message& m, const FieldDescriptor* field, int index, const std::string& key,
                  KeyValues* out) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = rep ? r->GetRepeatedMessage(m, field, index) : r->GetMessage(m, field);
      if (field->message_type()->full_name() == "google.protobuf.Timestamp") {
        out->emplace_back(key, FormatTimestamp(sub));
      } else {
        FlattenInto(sub, key + ".", out);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* v = rep ? r->GetRepeatedEnum(m, field, index) : r->GetEnum(m, field);
      if (!rep && v->number() == 0) return;  // UNSPECIFIED says nothing
      out->emplace_back(key, EnumShortName(v));
      return;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, field, index) : r->GetString(m, field);
      if (!rep && s.empty()) return;
      out->emplace_back(key, field->type() == FieldDescriptor::TYPE_BYTES ? FormatBytes(s) : s);
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      out->emplace_back(key, (rep ? r->GetRepeatedBool(m, field, index) : r->GetBool(m, field))
                                 ? "true"
                                 : "false");
      return;
    case FieldDescriptor::CPPTYPE_INT32:
      out->emplace_back(
          key, absl::StrCat(rep ? r->GetRepeatedInt32(m, field, index) : r->GetInt32(m, field)));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      out->emplace_back(
          key, absl::StrCat(rep ? r->GetRepeatedInt64(m, field, index) : r->GetInt64(m, field)));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      out->emplace_back(
          key, absl::StrCat(rep ? r->GetRepeatedUInt32(m, field, index) : r->GetUInt32(m, field)));
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      out->emplace_back(
          key, absl::StrCat(rep ? r->GetRepeatedUInt64(m, field, index) : r->GetUInt64(m, field)));
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out->emplace_back(
          key, absl::StrCat(rep ? r->GetRepeatedDouble(m, field, index) : r->GetDouble(m, field)));
      return;
    case FieldDescriptor::CPPTYPE_FLOAT:
      out->emplace_back(
          key, absl::StrCat(rep ? r->GetRepeatedFloat(m, field, index) : r->GetFloat(m, field)));
      return;
  }
}

void FlattenInto(const Message& m, const std::string& prefix, KeyValues* out) {
  const Reflection* r = m.GetReflection();
  const auto* desc = m.GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* field = desc->field(i);
    const std::string key = prefix + field->name();
    if (field->is_repeated()) {
      const int n = r->FieldSize(m, field);
      for (int j = 0; j < n; ++j) {
        FlattenValue(m, field, j, absl::StrCat(key, "[", j, "]"), out);
      }
      continue;
    }
    // Unset messages and inactive oneof members carry no information.
    if ((field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE ||
         field->real_containing_oneof() != nullptr) &&
        !r->HasField(m, field)) {
      continue;
    }
    FlattenValue(m, field, -1, key, out);
  }
}

}  // namespace

std::string EnumShortName(const google::protobuf::EnumValueDescriptor* value) {
  const std::string prefix = EnumPrefix(value->type()->name());
  if (absl::StartsWith(value->name(), prefix)) {
    return value->name().substr(prefix.size());
  }
  return value->name();
}

KeyValues FlattenMessage(const google::protobuf::Message& message) {
  KeyValues out;
  FlattenInto(message, "", &out);
  return out;
}

std::string FormatKeyValues(const KeyValues& pairs) {
  size_t width = 0;
  for (const auto& [k, v] : pairs) width = std::max(width, k.size() + 1);
  std::string text;
  for (const auto& [k, v] : pairs) {
    absl::StrAppend(&text, absl::StrFormat("%-*s %s\n", static_cast<int>(width), k + ":", v));
  }
  return text;
}

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    // Only reachable with malformed messages; keep stdout one object a line.
    return absl::StrCat("{\"error\":\"", absl::CEscape(std::string(status.message())), "\"}");
  }
  return json;
}

std::string FormatEventLine(const surge::v1::Event& event) {
  std::string type = "-";
  std::string payload;
  const auto* oneof = event.GetDescriptor()->FindOneofByName("payload");
  if (const FieldDescriptor* f = event.GetReflection()->GetOneofFieldDescriptor(event, oneof)) {
    type = f->message_type()->name();
    payload = event.GetReflection()->GetMessage(event, f).ShortDebugString();
  }
  std::string when = event.has_recorded_at() ? FormatTimestamp(event.recorded_at()) : "-";
  return absl::StrFormat("%8d  %s  %s@%d  %s  %s", event.position(), when, event.stream_id(),
                         event.stream_version(), type, payload);
}

void Printer::PrintMessage(const google::protobuf::Message& message, const KeyValues& extra) {
  if (json_) {
    for (const auto& [k, v] : extra) err_ << k << ": " << v << "\n";
    out_ << ToJsonLine(message) << "\n";
  } else {
    KeyValues pairs = extra;
    KeyValues body = FlattenMessage(message);
    pairs.insert(pairs.end(), body.begin(), body.end());
    out_ << FormatKeyValues(pairs);
  }
  out_.flush();
}

void Printer::PrintEvent(const surge::v1::Event& event) {
  out_ << (json_ ? ToJsonLine(event) : FormatEventLine(event)) << "\n";
  out_.flush();
}

void Printer::PrintSummary(const KeyValues& pairs) {
  if (json_) return;
  out_ << FormatKeyValues(pairs);
  out_.flush();
}

}  // namespace surge::cli
