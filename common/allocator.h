// The process's memory allocator: which one surge-server runs on, its
// tuning, and what it reports about memory.
//
// surge-server links jemalloc (Debian's libjemalloc-dev) unless built with
// -DSURGE_JEMALLOC=OFF or a sanitizer (which bring their own allocator).
// Measured on the orders benchmark (2 cores, same run, same build otherwise):
// glibc's malloc, with its arenas and cross-thread frees (a command's
// buffers are allocated on a gRPC thread and freed on the appender, a Kafka
// message's on librdkafka's threads), cost ~35% of the accepted throughput
// and made the settle tail at 2,800 orders/s 2-5x longer.
#ifndef SURGE_COMMON_ALLOCATOR_H_
#define SURGE_COMMON_ALLOCATOR_H_

#include <cstdint>
#include <optional>
#include <string>

namespace surge {

// Call first thing in main(), before any thread exists. With glibc's malloc
// it limits the arenas to two (unless MALLOC_ARENA_MAX is set): with ~30
// threads freed memory otherwise stays spread over up to 16 arenas.
// jemalloc needs nothing here (its options are compiled in; MALLOC_CONF
// overrides them).
void TuneAllocator();

// "jemalloc 5.3.0-0-g54eaed1d8b56..." or "glibc malloc".
std::string AllocatorName();

// The options in force that surge sets, as the allocator reports them:
// "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:1000" for
// jemalloc (compiled in, see allocator.cc; MALLOC_CONF overrides), or
// "arena_max:2" for glibc's malloc.
std::string AllocatorOptions();

// What the allocator itself counts, refreshed on each call. nullopt when it
// cannot tell (glibc's malloc has no cheap, thread-safe equivalent).
struct AllocatorStats {
  uint64_t allocated_bytes = 0;  // live allocations of the application
  uint64_t resident_bytes = 0;   // pages the allocator holds in RAM (incl. its caches)
};
std::optional<AllocatorStats> ReadAllocatorStats();

}  // namespace surge

#endif  // SURGE_COMMON_ALLOCATOR_H_
