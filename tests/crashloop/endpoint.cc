#include "tests/crashloop/endpoint.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

namespace surge::crashloop {

void Endpoint::Publish(const std::string& address) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  absl::MutexLock lock(&mu_);
  ++generation_;
  up_ = true;
  channel_ = std::move(channel);
}

void Endpoint::MarkDown() {
  absl::MutexLock lock(&mu_);
  up_ = false;
}

std::optional<Endpoint::View> Endpoint::WaitUp(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  if (!mu_.AwaitWithTimeout(absl::Condition(&up_), timeout)) return std::nullopt;
  return View{generation_, channel_};
}

bool Endpoint::WaitNewerThan(uint64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto newer = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return up_ && generation_ != seen; };
  return mu_.AwaitWithTimeout(absl::Condition(&newer), timeout);
}

}  // namespace surge::crashloop
