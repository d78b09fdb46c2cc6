#include "common/allocator.h"

#include <malloc.h>

#include <cstdlib>

#ifdef SURGE_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace surge {

#ifdef SURGE_WITH_JEMALLOC

void TuneAllocator() {}

std::string AllocatorName() {
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) != 0 || version == nullptr) {
    return "jemalloc";
  }
  return std::string("jemalloc ") + version;
}

std::optional<AllocatorStats> ReadAllocatorStats() {
  // Statistics are a snapshot taken when the epoch advances.
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  if (mallctl("epoch", &epoch, &size, &epoch, size) != 0) return std::nullopt;
  AllocatorStats stats;
  size_t allocated = 0;
  size_t resident = 0;
  size = sizeof(size_t);
  if (mallctl("stats.allocated", &allocated, &size, nullptr, 0) != 0) return std::nullopt;
  size = sizeof(size_t);
  if (mallctl("stats.resident", &resident, &size, nullptr, 0) != 0) return std::nullopt;
  stats.allocated_bytes = allocated;
  stats.resident_bytes = resident;
  return stats;
}

#else  // glibc malloc

void TuneAllocator() {
  // Two arenas measured 40-50 MiB less RSS than glibc's default after the
  // same load (orders, then 400k coupon requests); per-thread caches still
  // serve small allocations without a lock. MALLOC_ARENA_MAX wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
}

std::string AllocatorName() { return "glibc malloc"; }

std::optional<AllocatorStats> ReadAllocatorStats() { return std::nullopt; }

#endif

}  // namespace surge
