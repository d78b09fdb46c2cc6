#include "projections/dead_letter_envelope.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace surge::projections {
namespace {

TEST(DeadLetterEnvelopeTest, CarriesOriginalBytesInBase64Exactly) {
  ConsumedMessage m;
  m.topic = "surge.coupons";
  m.partition = 2;
  m.offset = 17;
  m.key = "SPRING";
  m.value = std::string("\x00\xff\x10 raw", 7);
  DeliveryFailure failure{"INVALID_ARGUMENT: bad \"bytes\"\n", 5, 1764320000000};
  EXPECT_EQ(DeadLetterEnvelopeJson(m, failure),
            "{\"topic\":\"surge.coupons\",\"partition\":2,\"offset\":17,"
            "\"key_b64\":\"U1BSSU5H\",\"value_b64\":\"AP8QIHJhdw==\","
            "\"error\":\"INVALID_ARGUMENT: bad \\\"bytes\\\"\\n\",\"attempts\":5,"
            "\"first_failure_unix_ms\":1764320000000}");
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape("AP8QIHJhdw==", &decoded));
  EXPECT_EQ(decoded, m.value);
}

TEST(DeadLetterEnvelopeTest, JsonQuoteEscapesControlCharacters) {
  EXPECT_EQ(JsonQuote(std::string("a\x01\\b", 4)), "\"a\\u0001\\\\b\"");
}

}  // namespace
}  // namespace surge::projections
