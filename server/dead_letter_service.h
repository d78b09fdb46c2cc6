// surge.v1.DeadLetterService: admin-only. The dead-letter core is not built
// yet, so an authenticated call answers UNIMPLEMENTED (and an
// unauthenticated one UNAUTHENTICATED, as it will once implemented).
//
// Thread-safe; stateless.
#ifndef SURGE_SERVER_DEAD_LETTER_SERVICE_H_
#define SURGE_SERVER_DEAD_LETTER_SERVICE_H_

#include "server/admin_auth.h"
#include "surge/v1/surge.grpc.pb.h"

namespace surge::server {

class DeadLetterService final : public v1::DeadLetterService::CallbackService {
 public:
  explicit DeadLetterService(const AdminAuth& auth) : auth_(auth) {}

  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
                                            const v1::ListDeadLettersRequest* request,
                                            v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* ReplayDeadLetter(grpc::CallbackServerContext* context,
                                             const v1::ReplayDeadLetterRequest* request,
                                             v1::ReplayDeadLetterResponse* response) override;

 private:
  grpc::ServerUnaryReactor* Unimplemented(grpc::CallbackServerContext* context, const char* method);

  const AdminAuth& auth_;
};

}  // namespace surge::server

#endif  // SURGE_SERVER_DEAD_LETTER_SERVICE_H_
