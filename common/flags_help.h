// Makes `--help` list a binary's own flags. Abseil's --help only shows flags
// defined in a file named like the program (surge-server != main.cc), so
// without this it prints "No flags matched"; --helpfull still lists all.
//
//   surge::ShowOwnFlagsInHelp("server/main.cc");  // before ParseCommandLine
#ifndef SURGE_COMMON_FLAGS_HELP_H_
#define SURGE_COMMON_FLAGS_HELP_H_

#include <string>

#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace surge {

// `source_suffix`: the end of the path of the file that defines the flags.
inline void ShowOwnFlagsInHelp(const std::string& source_suffix) {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [source_suffix](absl::string_view path) {
    return absl::EndsWith(path, source_suffix);
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace surge

#endif  // SURGE_COMMON_FLAGS_HELP_H_
