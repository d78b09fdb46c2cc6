#include "clients/cli/args.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace surge::cli {
namespace {

constexpr absl::string_view kUnknownFlag = "unknown flag --";

const FlagSpec* FindFlag(const std::string& name, const CommandSpec& spec,
                         const std::vector<FlagSpec>& globals) {
  for (const FlagSpec& f : spec.flags) {
    if (f.name == name) return &f;
  }
  for (const FlagSpec& f : globals) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> ParsedArgs::Get(const std::string& name) const {
  auto it = flags_.find(name);
  if (it == flags_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string ParsedArgs::GetOr(const std::string& name, const std::string& fallback) const {
  std::optional<std::string> v = Get(name);
  return v.has_value() ? *v : fallback;
}

std::vector<std::string> ParsedArgs::GetAll(const std::string& name) const {
  auto it = flags_.find(name);
  return it == flags_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<int64_t> ParsedArgs::GetInt(const std::string& name, int64_t fallback) const {
  std::optional<std::string> v = Get(name);
  if (!v.has_value()) return fallback;
  return ParseInt(*v, "--" + name);
}

bool IsUnknownFlagError(const absl::Status& status) {
  return absl::IsInvalidArgument(status) && absl::StartsWith(status.message(), kUnknownFlag);
}

absl::StatusOr<int64_t> ParseInt(const std::string& text, const std::string& what) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": expected an integer, got \"", text, "\""));
  }
  return value;
}

absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                     const std::vector<FlagSpec>& global_flags,
                                     absl::Span<const std::string> tokens) {
  static const FlagSpec kHelp{"help", false, false, "show this help"};
  ParsedArgs out;
  bool flags_done = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& tok = tokens[i];
    if (flags_done || tok == "-" || !absl::StartsWith(tok, "-")) {
      out.positional_.push_back(tok);
      continue;
    }
    if (tok == "--") {
      flags_done = true;
      continue;
    }
    // Negative numbers are values ("stock adjust SKU -5"), not flags.
    int64_t ignored;
    if (absl::SimpleAtoi(tok, &ignored)) {
      out.positional_.push_back(tok);
      continue;
    }
    std::string body = tok == "-h" ? "help" : tok.substr(absl::StartsWith(tok, "--") ? 2 : 1);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      inline_value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    const FlagSpec* flag = body == "help" ? &kHelp : FindFlag(body, spec, global_flags);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(kUnknownFlag, body));
    }
    std::string value;
    if (flag->takes_value) {
      if (inline_value.has_value()) {
        value = *inline_value;
      } else if (i + 1 < tokens.size()) {
        value = tokens[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", body, " needs a value"));
      }
    } else if (inline_value.has_value()) {
      if (*inline_value != "true" && *inline_value != "false") {
        return absl::InvalidArgumentError(absl::StrCat("flag --", body, " takes no value"));
      }
      if (*inline_value == "false") continue;
    }
    std::vector<std::string>& values = out.flags_[flag->name];
    if (!values.empty() && !flag->repeated && flag->takes_value) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", body, " given more than once"));
    }
    values.push_back(value);
  }
  if (out.Has("help")) return out;  // the caller prints usage; no arity check
  const int n = static_cast<int>(out.positional_.size());
  if (n < spec.min_positional) {
    return absl::InvalidArgumentError(absl::StrCat("missing arguments for \"", spec.name, "\""));
  }
  if (n > spec.max_positional) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", out.positional_[spec.max_positional], "\""));
  }
  return out;
}

std::string UsageText(const CommandSpec& spec) {
  std::string text = absl::StrCat("usage: surge-cli ", spec.name);
  if (!spec.synopsis.empty()) absl::StrAppend(&text, " ", spec.synopsis);
  absl::StrAppend(&text, "\n\n", spec.summary, "\n");
  if (!spec.flags.empty()) {
    absl::StrAppend(&text, "\nflags:\n");
    size_t width = 0;
    for (const FlagSpec& f : spec.flags) width = std::max(width, f.name.size());
    for (const FlagSpec& f : spec.flags) {
      absl::StrAppend(&text,
                      absl::StrFormat("  --%-*s  %s\n", static_cast<int>(width), f.name, f.help));
    }
  }
  return text;
}

}  // namespace surge::cli
