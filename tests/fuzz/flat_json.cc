#include "tests/fuzz/flat_json.h"

#include <cstdint>

namespace surge::fuzz {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends `code` (a BMP code point, no surrogates) as UTF-8.
bool AppendUtf8(uint32_t code, std::string* out) {
  if (code >= 0xD800 && code <= 0xDFFF) return false;  // the envelope never writes pairs
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (code >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
  return true;
}

class Reader {
 public:
  explicit Reader(absl::string_view text) : text_(text) {}

  bool Eat(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool AtEnd() const { return pos_ == text_.size(); }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  bool String(std::string* out) {
    if (!Eat('"')) return false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;  // must be escaped
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      switch (text_[pos_++]) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          if (text_.size() - pos_ < 4) return false;
          uint32_t code = 0;
          for (int i = 0; i < 4; ++i) {
            const int h = HexValue(text_[pos_++]);
            if (h < 0) return false;
            code = code * 16 + static_cast<uint32_t>(h);
          }
          if (!AppendUtf8(code, out)) return false;
          break;
        }
        default:
          return false;
      }
    }
    return false;  // unterminated
  }

  // -?(0|[1-9][0-9]*): integers only.
  bool Integer(std::string* out) {
    const size_t start = pos_;
    Eat('-');
    if (Eat('0')) {
      // no leading zeros
    } else {
      if (pos_ >= text_.size() || text_[pos_] < '1' || text_[pos_] > '9') return false;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    }
    *out = std::string(text_.substr(start, pos_ - start));
    return true;
  }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<FlatJson> ParseFlatJson(absl::string_view text) {
  Reader in(text);
  FlatJson object;
  if (!in.Eat('{')) return std::nullopt;
  if (!in.Eat('}')) {
    do {
      std::string key;
      std::string value;
      if (!in.String(&key) || !in.Eat(':')) return std::nullopt;
      const bool is_string = in.Peek('"');
      if (!(is_string ? in.String(&value) : in.Integer(&value))) return std::nullopt;
      object.fields.emplace_back(std::move(key), std::move(value));
      object.is_string.push_back(is_string);
    } while (in.Eat(','));
    if (!in.Eat('}')) return std::nullopt;
  }
  if (!in.AtEnd()) return std::nullopt;
  return object;
}

}  // namespace surge::fuzz
