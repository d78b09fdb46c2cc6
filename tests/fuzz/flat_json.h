// A strict reader for flat JSON objects whose values are strings or integers,
// e.g. the dead-letter envelope. The fuzz target uses it as an independent
// decoder: whatever the encoder writes must read back to the same values.
//
//   std::optional<FlatJson> object = ParseFlatJson(R"({"a":"x","b":-2})");
//   // object->fields == {{"a", "x"}, {"b", "-2"}} (numbers kept as text)
//
// Strings follow RFC 8259 escapes; raw bytes >= 0x80 are taken as they are
// (the envelope documents that it passes them through). Pure: thread-safe.
#ifndef SURGE_TESTS_FUZZ_FLAT_JSON_H_
#define SURGE_TESTS_FUZZ_FLAT_JSON_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace surge::fuzz {

struct FlatJson {
  // In document order. Strings are unescaped; numbers are their text.
  std::vector<std::pair<std::string, std::string>> fields;
  // Per field: true when the value was a string.
  std::vector<bool> is_string;
};

// nullopt unless `text` is exactly one such object (no trailing bytes).
std::optional<FlatJson> ParseFlatJson(absl::string_view text);

}  // namespace surge::fuzz

#endif  // SURGE_TESTS_FUZZ_FLAT_JSON_H_
