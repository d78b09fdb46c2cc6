// surge.v1.DeadLetterService: admin-only listing and replay of the messages
// the projections dead-lettered, a thin layer over projections::DeadLetters.
// Missing/wrong token -> UNAUTHENTICATED before anything is read.
//
// Thread-safe; holds no state. Borrows the auth and the dead-letter core.
#ifndef SURGE_SERVER_DEAD_LETTER_SERVICE_H_
#define SURGE_SERVER_DEAD_LETTER_SERVICE_H_

#include "projections/dead_letters.h"
#include "server/admin_auth.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::server {

class DeadLetterService final : public v1::DeadLetterService::CallbackService {
 public:
  DeadLetterService(const AdminAuth& auth, projections::DeadLetters& dead_letters)
      : auth_(auth), dead_letters_(dead_letters) {}

  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
                                            const v1::ListDeadLettersRequest* request,
                                            v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* ReplayDeadLetter(grpc::CallbackServerContext* context,
                                             const v1::ReplayDeadLetterRequest* request,
                                             v1::ReplayDeadLetterResponse* response) override;

 private:
  const AdminAuth& auth_;
  projections::DeadLetters& dead_letters_;
};

}  // namespace surge::server

#endif  // SURGE_SERVER_DEAD_LETTER_SERVICE_H_
