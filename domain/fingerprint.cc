#include "domain/fingerprint.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace surge::domain {

Fingerprint::Fingerprint(absl::string_view kind) { Add(kind); }

Fingerprint& Fingerprint::Add(absl::string_view field) {
  absl::StrAppend(&canonical_, field.size(), ":", field, ";");
  return *this;
}

Fingerprint& Fingerprint::Add(int64_t field) { return Add(absl::StrCat(field)); }

std::string Fingerprint::Digest() const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // EVP_Digest only fails on allocation failure; an empty digest then still
  // stays deterministic per command kind and merely weakens the check.
  if (EVP_Digest(canonical_.data(), canonical_.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return std::string();
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

}  // namespace surge::domain
