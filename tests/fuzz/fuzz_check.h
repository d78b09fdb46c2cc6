// Checks for the fuzz targets' oracles. A failed check prints what was wrong
// and aborts, which libFuzzer records as a crash (with the input saved as an
// artifact) and which fails the corpus-replay test under GoogleTest.
#ifndef SURGE_TESTS_FUZZ_FUZZ_CHECK_H_
#define SURGE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define SURGE_FUZZ_CHECK(condition, ...)                                                      \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                                 \
      std::fprintf(stderr, "\n");                                                             \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)

#endif  // SURGE_TESTS_FUZZ_FUZZ_CHECK_H_
