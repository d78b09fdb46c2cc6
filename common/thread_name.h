// Names the calling thread so that top -H, perf and gdb show which surge
// component burns the CPU ("surge-append", "surge-relay", ...). Linux keeps
// at most 15 characters; longer names are cut, never rejected.
#ifndef SURGE_COMMON_THREAD_NAME_H_
#define SURGE_COMMON_THREAD_NAME_H_

#include <pthread.h>

#include <string>

namespace surge {

inline void SetCurrentThreadName(const std::string& name) {
  // Best effort: a name is a diagnostic aid, failing to set one is harmless.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace surge

#endif  // SURGE_COMMON_THREAD_NAME_H_
