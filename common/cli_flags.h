// The command-line conventions every surge binary built on Abseil flags
// follows (surge-server, surge-bench, surge-kafka-dev; surge-cli has its own
// parser with the same behaviour, clients/cli/args.h):
//
//   --help, -h, --helpshort   the usage message and the binary's own flags on
//                             stdout, exit 0 (Abseil's own --help exits 1,
//                             lists only flags of a file named like the
//                             program, and prints build paths)
//   --helpfull                every flag, the libraries' included, exit 0
//   --version                 "<program> <version> (commit <sha>)", exit 0
//   an unknown flag           one line on stderr, exit 2:
//                             "surge-server: unknown flag --foo; see surge-server --help"
//
// Everything else is absl::ParseCommandLine's (values, --flagfile, errors):
//
//   int main(int argc, char** argv) {
//     surge::ParseCliFlags(argc, argv, {"surge-server", "what it does...", {"server/main.cc"}});
//
// The version comes from common/build_info.h (library surge_build_info).
// Header-only so any binary that links absl::flags_parse can use it.
#ifndef SURGE_COMMON_CLI_FLAGS_H_
#define SURGE_COMMON_CLI_FLAGS_H_

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/build_info.h"

namespace surge {

struct CliSpec {
  std::string program;  // "surge-server"
  std::string usage;    // what it does, and an example invocation
  // Ends of the paths of the files that define the binary's own flags, e.g.
  // "server/main.cc": --help lists the flags defined there.
  std::vector<std::string> flag_sources;
};

namespace cli_flags_internal {

inline bool IsOwnFlag(const absl::CommandLineFlag& flag, const CliSpec& spec) {
  const std::string file = flag.Filename();
  for (const std::string& suffix : spec.flag_sources) {
    if (absl::EndsWith(file, suffix)) return true;
  }
  return false;
}

// `text` re-flowed to lines of at most `width` columns, each indented.
inline std::string Wrap(absl::string_view text, absl::string_view indent, size_t width) {
  std::string out;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    if (!line.empty() && indent.size() + line.size() + 1 + word.size() > width) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
  return out;
}

inline std::string FlagEntry(const absl::CommandLineFlag& flag) {
  std::string default_value = flag.DefaultValue();
  if (flag.IsOfType<std::string>() || default_value.empty()) {
    default_value = absl::StrCat("\"", default_value, "\"");
  }
  return absl::StrCat("  --", flag.Name(), "  (default ", default_value, ")\n",
                      Wrap(flag.Help(), "      ", 80));
}

// The usage message and the flags `all` (every registered flag) or only the
// binary's own, sorted by name, with no file names.
inline std::string HelpText(const CliSpec& spec, bool all) {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (all || IsOwnFlag(*flag, spec)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  // The usage message re-flowed, except its indented (example) lines.
  std::string text;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(spec.usage, '\n')) {
    const std::string start = first ? absl::StrCat(spec.program, ": ") : "";
    first = false;
    if (absl::StartsWith(line, " ")) {
      absl::StrAppend(&text, start, line, "\n");
    } else {
      absl::StrAppend(&text, Wrap(absl::StrCat(start, line), "", 80));
    }
  }
  absl::StrAppend(&text, "\n", all ? "flags (all, the libraries' included):\n" : "flags:\n");
  for (const absl::CommandLineFlag* flag : flags) absl::StrAppend(&text, FlagEntry(*flag));
  absl::StrAppend(&text,
                  "\n  --help      this list (--helpfull: every flag, the libraries' included)\n"
                  "  --version   print the version and the git commit\n"
                  "\nAn unknown flag exits with status 2.\n");
  return text;
}

// Abseil's own usage output (--helpon, --helpmatch, flag errors) with
// source-relative file names and the same --version text.
inline void ConfigureAbseilUsage(const CliSpec& spec) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [spec](absl::string_view path) {
    for (const std::string& suffix : spec.flag_sources) {
      if (absl::EndsWith(path, suffix)) return true;
    }
    return false;
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.version_string = [program = spec.program] { return VersionLine(program) + "\n"; };
  // The build path is whatever precedes a known source suffix, e.g.
  // "tmp/clone/" before "server/main.cc"; strip it from every file name.
  // (Filename() is already normalized by Abseil's default, which drops the
  // leading "/", and then by this function.)
  std::string prefix;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    const std::string file = flag->Filename();
    for (const std::string& suffix : spec.flag_sources) {
      if (absl::EndsWith(file, suffix)) prefix = file.substr(0, file.size() - suffix.size());
    }
    if (!prefix.empty()) break;
  }
  config.normalize_filename = [prefix](absl::string_view file) {
    while (absl::ConsumePrefix(&file, "/")) {
    }
    if (!prefix.empty()) absl::ConsumePrefix(&file, prefix);
    return std::string(file);
  };
  absl::SetFlagsUsageConfig(config);
}

}  // namespace cli_flags_internal

// Handles --help, --helpfull, --version and unknown flags as described above
// (each exits), then returns absl::ParseCommandLine(argc, argv): argv[0] and
// the positional arguments.
inline std::vector<char*> ParseCliFlags(int argc, char** argv, const CliSpec& spec) {
  namespace internal = cli_flags_internal;
  absl::SetProgramUsageMessage(spec.usage);
  internal::ConfigureAbseilUsage(spec);

  // --undefok=a,b: names Abseil accepts even when no such flag exists.
  std::set<std::string, std::less<>> undefok;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (absl::ConsumePrefix(&arg, "--undefok=") || absl::ConsumePrefix(&arg, "-undefok=")) {
      for (absl::string_view name : absl::StrSplit(arg, ',', absl::SkipEmpty())) {
        undefok.emplace(name);
      }
    }
  }

  // In order, as Abseil reads them: the first help, version or unknown flag
  // decides. "--name value" takes the next argument for a non-boolean flag.
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // positional, or "-"
    absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    const size_t eq = body.find('=');
    absl::string_view name = body.substr(0, eq);
    const bool has_value = eq != absl::string_view::npos;
    if (name == "help" || name == "h" || name == "helpshort" || name == "helppackage") {
      std::fputs(internal::HelpText(spec, /*all=*/false).c_str(), stdout);
      std::exit(0);
    }
    if (name == "helpfull") {
      std::fputs(internal::HelpText(spec, /*all=*/true).c_str(), stdout);
      std::exit(0);
    }
    if (name == "helpon" || name == "helpmatch" || name == "only_check_args") {
      continue;  // Abseil's own (not registered flags): absl::ParseCommandLine handles them
    }
    if (name == "version") {
      std::printf("%s\n", VersionLine(spec.program).c_str());
      std::exit(0);
    }
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {  // --noname for a bool
      flag = absl::FindCommandLineFlag(name.substr(2));
      if (flag != nullptr && !flag->IsOfType<bool>()) flag = nullptr;
      negated = flag != nullptr;
    }
    if (flag == nullptr) {
      if (undefok.count(name) > 0 ||
          (absl::StartsWith(name, "no") && undefok.count(name.substr(2)) > 0)) {
        continue;
      }
      std::fprintf(stderr, "%s: unknown flag --%.*s; see %s --help\n", spec.program.c_str(),
                   static_cast<int>(name.size()), name.data(), spec.program.c_str());
      std::exit(2);
    }
    if (!has_value && !negated && !flag->IsOfType<bool>()) ++i;  // its value
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace surge

#endif  // SURGE_COMMON_CLI_FLAGS_H_
