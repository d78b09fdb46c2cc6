// Digest of a command, stored with its idempotency key so that a repeat of
// a request_id carrying a *different* command is refused instead of being
// silently answered with the first command's result.
//
//   Fingerprint fp("PlaceOrder");
//   fp.Add(command.user_id).Add(line.sku()).Add(line.quantity());
//   request.fingerprint = fp.Digest();
//
// The encoding is length-prefixed, so ("ab","c") and ("a","bc") differ, and
// stable across processes and builds (SHA-256), so it survives restarts.
// Not thread-safe; cheap to create.
#ifndef SURGE_DOMAIN_FINGERPRINT_H_
#define SURGE_DOMAIN_FINGERPRINT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace surge::domain {

class Fingerprint {
 public:
  // `kind` names the command, so two commands with equal fields differ.
  explicit Fingerprint(absl::string_view kind);

  Fingerprint& Add(absl::string_view field);
  Fingerprint& Add(int64_t field);

  // Lower-case hex SHA-256 of everything added (64 characters).
  std::string Digest() const;

 private:
  std::string canonical_;
};

}  // namespace surge::domain

#endif  // SURGE_DOMAIN_FINGERPRINT_H_
