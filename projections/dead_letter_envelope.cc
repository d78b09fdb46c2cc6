#include "projections/dead_letter_envelope.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace surge::projections {

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

std::string DeadLetterEnvelopeJson(const ConsumedMessage& message, const DeliveryFailure& failure) {
  return absl::StrCat("{\"topic\":", JsonQuote(message.topic), ",\"partition\":", message.partition,
                      ",\"offset\":", message.offset, ",\"key_b64\":\"",
                      absl::Base64Escape(message.key), "\",\"value_b64\":\"",
                      absl::Base64Escape(message.value), "\",\"error\":", JsonQuote(failure.error),
                      ",\"attempts\":", failure.attempts,
                      ",\"first_failure_unix_ms\":", failure.first_failure_unix_ms, "}");
}

}  // namespace surge::projections
