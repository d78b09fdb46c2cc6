#include "clients/cli/surge_cli.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/cli/command.h"

namespace surge::cli {
namespace {

std::vector<CommandGroup> Groups() {
  return {
      {"order", "place, read and cancel orders", OrderCommands()},
      {"stock", "adjust and read stock (adjust is admin)", StockCommands()},
      {"coupon", "campaigns and first-come coupon requests", CouponCommands()},
      {"events", "read and follow the event log", EventCommands()},
      {"dlt", "dead-letter messages (admin)", DeadLetterCommands()},
      {"health", "server health", HealthCommands()},
      {"cluster", "cluster members and decider partition owners", ClusterCommands()},
      {"load", "bulk demo load with a progress bar", LoadCommands()},
      {"kafka", "the Kafka topics a deployment needs (no server needed)", KafkaCommands()},
  };
}

std::string GlobalFlagsText() {
  std::string text = "\nglobal flags:\n";
  for (const FlagSpec& f : GlobalFlags()) {
    absl::StrAppend(&text, absl::StrFormat("  --%-8s  %s\n", f.name, f.help));
  }
  return text;
}

std::string TopUsage(const std::vector<CommandGroup>& groups) {
  std::string text =
      "usage: surge-cli [global flags] <command> [args] [flags]\n\n"
      "commands:\n";
  for (const CommandGroup& g : groups) {
    for (const Command& c : g.commands) {
      absl::StrAppend(&text, "  ", c.spec.name, " ", c.spec.synopsis, "\n");
    }
  }
  absl::StrAppend(&text, GlobalFlagsText(),
                  "  --version   print the version and the git commit (before a command)\n"
                  "\n`surge-cli <command> --help` describes one command.\n"
                  "exit codes: 0 ok, 1 RPC error, 2 usage error (an unknown flag included)\n");
  return text;
}

std::string GroupUsage(const CommandGroup& g) {
  std::string text = absl::StrCat("usage: surge-cli ", g.name, " <subcommand>\n\n", g.summary,
                                  "\n\nsubcommands:\n");
  for (const Command& c : g.commands) {
    absl::StrAppend(&text, "  ", c.spec.name, " ", c.spec.synopsis, "\n      ", c.spec.summary,
                    "\n");
  }
  return text;
}

bool IsHelp(const std::string& tok) { return tok == "--help" || tok == "-h"; }

// Index of the first token that is not a global flag (or its value), or
// tokens.size(). Other flags are left for the command's parser.
size_t NextWord(const std::vector<std::string>& tokens, size_t from) {
  for (size_t i = from; i < tokens.size(); ++i) {
    const std::string& tok = tokens[i];
    if (!absl::StartsWith(tok, "-")) return i;
    if (tok.find('=') != std::string::npos) continue;
    for (const FlagSpec& f : GlobalFlags()) {
      if (tok == "--" + f.name && f.takes_value) {
        ++i;
        break;
      }
    }
  }
  return tokens.size();
}

// The one line an unknown flag gets (exit 2), e.g. "surge-cli: unknown flag
// --foo; see surge-cli order get --help". `command` is empty before one.
std::string UnknownFlagLine(absl::string_view message, absl::string_view command) {
  return absl::StrCat("surge-cli: ", message, "; see surge-cli ", command,
                      command.empty() ? "" : " ", "--help\n");
}

// The flags before the command word (tokens[0, end)): global flags with their
// values, --help/-h (handled by the caller) and --version. Returns the first
// unknown one as "--name", or "" when all are known.
std::string UnknownLeadingFlag(const std::vector<std::string>& tokens, size_t end) {
  for (size_t i = 0; i < end; ++i) {
    const std::string& tok = tokens[i];
    if (tok == "--" || IsHelp(tok) || tok == "--version") continue;
    std::string name = tok.substr(absl::StartsWith(tok, "--") ? 2 : 1);
    const size_t eq = name.find('=');
    name = name.substr(0, eq);
    const FlagSpec* flag = nullptr;
    for (const FlagSpec& f : GlobalFlags()) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) return "--" + name;
    if (flag->takes_value && eq == std::string::npos) ++i;  // its value
  }
  return "";
}

bool HasHelp(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens) {
    if (t == "--") return false;
    if (IsHelp(t)) return true;
  }
  return false;
}

}  // namespace

int RunCli(const std::vector<std::string>& tokens, std::ostream& out, std::ostream& err,
           const std::string& version_line) {
  const std::vector<CommandGroup> groups = Groups();
  const size_t group_at = NextWord(tokens, 0);
  for (size_t i = 0; i < group_at; ++i) {
    if (tokens[i] == "--") break;
    if (tokens[i] == "--version") {
      out << version_line << "\n";
      return kExitOk;
    }
  }
  if (const std::string unknown = UnknownLeadingFlag(tokens, group_at); !unknown.empty()) {
    err << UnknownFlagLine(absl::StrCat("unknown flag ", unknown), "");
    return kExitUsage;
  }
  if (group_at == tokens.size()) {
    if (HasHelp(tokens)) {
      out << TopUsage(groups);
      return kExitOk;
    }
    err << "error: no command given\n\n" << TopUsage(groups);
    return kExitUsage;
  }
  const CommandGroup* group = nullptr;
  for (const CommandGroup& g : groups) {
    if (g.name == tokens[group_at]) group = &g;
  }
  if (group == nullptr) {
    err << "error: unknown command \"" << tokens[group_at] << "\"\n\n" << TopUsage(groups);
    return kExitUsage;
  }

  // A group with one command of its own name ("health") has no subcommand.
  const Command* command = nullptr;
  size_t sub_at = group_at;
  if (group->commands.size() == 1 && group->commands[0].spec.name == group->name) {
    command = &group->commands[0];
  } else {
    sub_at = NextWord(tokens, group_at + 1);
    if (sub_at == tokens.size()) {
      if (HasHelp(tokens)) {
        out << GroupUsage(*group);
        return kExitOk;
      }
      err << "error: \"" << group->name << "\" needs a subcommand\n\n" << GroupUsage(*group);
      return kExitUsage;
    }
    const std::string full = absl::StrCat(group->name, " ", tokens[sub_at]);
    for (const Command& c : group->commands) {
      if (c.spec.name == full) command = &c;
    }
    if (command == nullptr) {
      err << "error: unknown command \"" << full << "\"\n\n" << GroupUsage(*group);
      return kExitUsage;
    }
  }

  std::vector<std::string> rest;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i != group_at && i != sub_at) rest.push_back(tokens[i]);
  }
  absl::StatusOr<ParsedArgs> args = ParseArgs(command->spec, GlobalFlags(), rest);
  if (IsUnknownFlagError(args.status())) {
    err << UnknownFlagLine(args.status().message(), command->spec.name);
    return kExitUsage;
  }
  if (!args.ok()) {
    err << "error: " << args.status().message() << "\n\n" << UsageText(command->spec);
    return kExitUsage;
  }
  if (args->Has("help")) {
    out << UsageText(command->spec) << GlobalFlagsText();
    return kExitOk;
  }

  GlobalOptions globals;
  if (const char* addr = std::getenv("SURGE_ADDR"); addr != nullptr && *addr != '\0') {
    globals.addr = addr;
  }
  if (const char* token = std::getenv("SURGE_ADMIN_TOKEN"); token != nullptr) {
    globals.token = token;
  }
  globals.addr = args->GetOr("addr", globals.addr);
  globals.token = args->GetOr("token", globals.token);
  globals.json = args->Has("json");
  globals.tls = args->Has("tls");
  globals.tls_ca = args->GetOr("tls_ca", "");
  globals.tls_cert = args->GetOr("tls_cert", "");
  globals.tls_key = args->GetOr("tls_key", "");
  if (std::optional<std::string> t = args->Get("timeout")) {
    if (!absl::ParseDuration(*t, &globals.timeout) || globals.timeout <= absl::ZeroDuration()) {
      err << "error: --timeout wants a positive duration such as 5s or 500ms, got \"" << *t
          << "\"\n\n"
          << UsageText(command->spec);
      return kExitUsage;
    }
  }
  absl::StatusOr<std::unique_ptr<Connection>> conn = Connection::Create(globals);
  if (!conn.ok()) {
    err << "error: " << conn.status().message() << "\n";
    return kExitUsage;
  }
  Printer printer(globals.json, out, err);
  CommandEnv env{globals, **conn, printer, command->spec};
  return command->run(*args, env);
}

}  // namespace surge::cli
