// A small command-line parser for surge-cli's "group command args --flags"
// shape, which Abseil flags (one global flag namespace) does not fit.
//
//   CommandSpec spec{"order get", "ID [--wait MS]", "Reads an order.",
//                    {{"wait", true, false, "wait up to MS for settlement"}}, 1, 1};
//   absl::StatusOr<ParsedArgs> args = ParseArgs(spec, {"o-1", "--wait=500"});
//   args->positional(0);          // "o-1"
//   args->GetInt("wait", 0);      // 500
//
// Flags are "--name value" or "--name=value"; a flag may repeat when its spec
// says so; "--" ends flag parsing. Errors are InvalidArgument with a message
// meant for the user. Not thread-safe; values are plain data.
#ifndef SURGE_CLIENTS_CLI_ARGS_H_
#define SURGE_CLIENTS_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace surge::cli {

struct FlagSpec {
  std::string name;       // without the leading "--"
  bool takes_value;       // false: a boolean switch such as --json
  bool repeated = false;  // true: may be given more than once (--line)
  std::string help;       // one line for the usage text
};

struct CommandSpec {
  std::string name;             // e.g. "order place"
  std::string synopsis;         // arguments part of the usage line
  std::string summary;          // one sentence
  std::vector<FlagSpec> flags;  // command flags (globals are added apart)
  int min_positional = 0;       // fewer positional arguments: usage error
  int max_positional = 0;       // more positional arguments: usage error
};

class ParsedArgs {
 public:
  const std::vector<std::string>& positionals() const { return positional_; }
  const std::string& positional(size_t i) const { return positional_.at(i); }

  bool Has(const std::string& name) const { return flags_.count(name) > 0; }
  // The last value given for `name`, if any.
  std::optional<std::string> Get(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& fallback) const;
  // Every value given for a repeated flag, in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  // Parses the flag as a decimal integer; InvalidArgument names the flag.
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec&, const std::vector<FlagSpec>&,
                                              absl::Span<const std::string>);
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> flags_;
};

// Parses `tokens` (everything after the command name) against the command's
// flags plus `global_flags`. "--help"/"-h" is always accepted as a switch.
absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                     const std::vector<FlagSpec>& global_flags,
                                     absl::Span<const std::string> tokens);

// True for ParseArgs' "unknown flag --name" error, which surge-cli answers
// with one line and a pointer to --help instead of the whole usage text.
bool IsUnknownFlagError(const absl::Status& status);

// Parses a decimal integer, naming `what` in the error.
absl::StatusOr<int64_t> ParseInt(const std::string& text, const std::string& what);

// "usage: surge-cli <name> <synopsis>" plus the summary and one line per flag.
std::string UsageText(const CommandSpec& spec);

}  // namespace surge::cli

#endif  // SURGE_CLIENTS_CLI_ARGS_H_
