// Splits a fuzz input into typed pieces, the way libFuzzer's
// FuzzedDataProvider does, but available to gcc too so the same entry points
// replay their corpus in the default (gcc) test suite.
//
//   FuzzInput in(data, size);
//   uint8_t kind = in.Byte();
//   int64_t delta = in.Int<int64_t>();
//   std::string key = in.Bytes();  // length-prefixed
//
// Reading past the end yields zeros and empty strings, never an error, so
// every byte string is a valid input. Not thread-safe; borrows the data.
#ifndef SURGE_TESTS_FUZZ_FUZZ_INPUT_H_
#define SURGE_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace surge::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }

  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  // sizeof(T) bytes, little-endian; missing bytes are zero.
  template <typename T>
  T Int() {
    static_assert(std::is_integral_v<T>);
    std::make_unsigned_t<T> value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      value |= static_cast<std::make_unsigned_t<T>>(Byte()) << (8 * i);
    }
    return static_cast<T>(value);
  }

  // A string whose length is the next two bytes (little-endian), clipped to
  // what is left.
  std::string Bytes() {
    size_t length = Int<uint16_t>();
    if (length > size_ - pos_) length = size_ - pos_;
    std::string out(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length;
    return out;
  }

  // Everything not consumed yet.
  std::string Rest() {
    std::string out(reinterpret_cast<const char*>(data_ + pos_), size_ - pos_);
    pos_ = size_;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace surge::fuzz

#endif  // SURGE_TESTS_FUZZ_FUZZ_INPUT_H_
