// Fuzz target: the dead-letter envelope (projections/dead_letter_envelope.h).
//
// Input: the numbers of a dead letter (partition, offset, attempts, first
// failure time), then its topic, key and error text (length-prefixed), then
// the original value (the rest). The envelope is encoded, read back with an
// independent strict JSON reader (flat_json.h) and every field must come
// back exactly: the original bytes through base64, the texts through JSON
// escaping, the numbers as decimal text.
//
// The module exposes no decoder of its own; this target stands in for one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "projections/dead_letter_envelope.h"
#include "tests/fuzz/flat_json.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace surge::fuzz {
namespace {

void CheckField(const FlatJson& json, size_t index, const char* name, bool is_string,
                const std::string& expected) {
  SURGE_FUZZ_CHECK(index < json.fields.size(), "field %s missing", name);
  SURGE_FUZZ_CHECK(json.fields[index].first == name, "field %zu is %s, expected %s", index,
                   json.fields[index].first.c_str(), name);
  SURGE_FUZZ_CHECK(json.is_string[index] == is_string, "field %s has the wrong JSON type", name);
  SURGE_FUZZ_CHECK(json.fields[index].second == expected, "field %s reads back differently", name);
}

void CheckBase64Field(const FlatJson& json, size_t index, const char* name,
                      const std::string& original) {
  SURGE_FUZZ_CHECK(index < json.fields.size(), "field %s missing", name);
  SURGE_FUZZ_CHECK(json.fields[index].first == name && json.is_string[index], "field %s", name);
  std::string decoded;
  SURGE_FUZZ_CHECK(absl::Base64Unescape(json.fields[index].second, &decoded),
                   "field %s is not base64", name);
  SURGE_FUZZ_CHECK(decoded == original, "field %s decodes to other bytes", name);
}

}  // namespace
}  // namespace surge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace surge;        // NOLINT: entry point only
  using namespace surge::fuzz;  // NOLINT
  FuzzInput in(data, size);
  projections::ConsumedMessage message;
  projections::DeliveryFailure failure;
  message.partition = in.Int<int32_t>();
  message.offset = in.Int<int64_t>();
  failure.attempts = in.Int<int32_t>();
  failure.first_failure_unix_ms = in.Int<int64_t>();
  message.topic = in.Bytes();
  message.key = in.Bytes();
  failure.error = in.Bytes();
  message.value = in.Rest();

  // JsonQuote alone: any text is one JSON string that reads back as itself.
  const std::optional<FlatJson> quoted =
      ParseFlatJson(absl::StrCat("{\"t\":", projections::JsonQuote(failure.error), "}"));
  SURGE_FUZZ_CHECK(
      quoted.has_value() && quoted->fields.size() == 1 && quoted->fields[0].second == failure.error,
      "JsonQuote does not round-trip");

  const std::string envelope = projections::DeadLetterEnvelopeJson(message, failure);
  const std::optional<FlatJson> json = ParseFlatJson(envelope);
  SURGE_FUZZ_CHECK(json.has_value(), "envelope is not a flat JSON object: %s",
                   envelope.substr(0, 200).c_str());
  SURGE_FUZZ_CHECK(json->fields.size() == 8, "envelope has %zu fields", json->fields.size());
  CheckField(*json, 0, "topic", true, message.topic);
  CheckField(*json, 1, "partition", false, absl::StrCat(message.partition));
  CheckField(*json, 2, "offset", false, absl::StrCat(message.offset));
  CheckBase64Field(*json, 3, "key_b64", message.key);
  CheckBase64Field(*json, 4, "value_b64", message.value);
  CheckField(*json, 5, "error", true, failure.error);
  CheckField(*json, 6, "attempts", false, absl::StrCat(failure.attempts));
  CheckField(*json, 7, "first_failure_unix_ms", false, absl::StrCat(failure.first_failure_unix_ms));
  return 0;
}
