#include "clients/cli/command.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/grpc_code_name.h"

namespace surge::cli {

std::string StatusCodeName(grpc::StatusCode code) { return GrpcCodeName(static_cast<int>(code)); }

int RpcError(CommandEnv& env, const grpc::Status& status) {
  env.printer.err() << "error: " << StatusCodeName(status.error_code()) << ": "
                    << status.error_message() << "\n";
  if (std::string hint = TlsHint(env.globals, status); !hint.empty()) {
    env.printer.err() << "hint: " << hint << "\n";
  }
  return kExitRpcError;
}

int UsageError(CommandEnv& env, const std::string& message) {
  env.printer.err() << "error: " << message << "\n\n" << UsageText(env.spec);
  return kExitUsage;
}

std::string NewRequestId() {
  // Time keeps ids roughly ordered for humans; the random part makes two
  // invocations in the same microsecond (or on two machines) distinct.
  std::random_device rd;
  const uint64_t random = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return absl::StrFormat("cli-%x-%016x", absl::ToUnixMicros(absl::Now()), random);
}

std::string RequestIdFrom(const ParsedArgs& args, bool* generated) {
  std::optional<std::string> given = args.Get("request-id");
  *generated = !given.has_value();
  return given.has_value() ? *given : NewRequestId();
}

absl::StatusOr<int64_t> WaitMillis(const ParsedArgs& args) {
  absl::StatusOr<int64_t> ms = args.GetInt("wait", 0);
  if (ms.ok() && *ms < 0) {
    return absl::InvalidArgumentError("--wait must be >= 0 milliseconds");
  }
  return ms;
}

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"addr", true, false, "server host:port (env SURGE_ADDR; default 127.0.0.1:50051)"},
      {"token", true, false, "admin token, sent as a Bearer token (env SURGE_ADMIN_TOKEN)"},
      {"json", false, false, "print protobuf JSON, one object per line"},
      {"timeout", true, false, "deadline per call, e.g. 5s, 500ms (default 10s)"},
      {"tls", false, false, "connect with TLS using the system roots"},
      {"tls_ca", true, false, "PEM CA bundle to trust (implies --tls)"},
      {"tls_cert", true, false,
       "PEM client certificate chain for mTLS (with --tls_key; implies --tls)"},
      {"tls_key", true, false, "PEM private key of --tls_cert"},
  };
  return *flags;
}

}  // namespace surge::cli
