// Baseline 2 of issue 5: a store without group commit. N threads each write
// one RocksDB put with sync=true per command, as big as one encoded event, and
// the figure is puts per second. surge's durable throughput is quoted as a
// ratio to this.
//
//   naive-put-bench --threads=64 --duration=10s --json=naive.json
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/sample_event.h"
#include "clients/bench/histogram.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

ABSL_FLAG(int, threads, 64, "writer threads (the same concurrency as surge-bench)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured time");
ABSL_FLAG(std::string, dir, "", "database directory (default: a fresh temp dir, removed)");
ABSL_FLAG(bool, sync, true, "fsync the WAL on every put (the point of the baseline)");
ABSL_FLAG(std::string, json, "", "also write the figures as JSON to this file");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int threads = absl::GetFlag(FLAGS_threads);
  std::string dir = absl::GetFlag(FLAGS_dir);
  const bool temp = dir.empty();
  if (temp) {
    dir = (std::filesystem::temp_directory_path() /
           absl::StrCat("naive-put-", getpid(), "-", absl::ToUnixNanos(absl::Now())))
              .string();
  }
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    std::cerr << "naive-put-bench: open " << dir << ": " << s.ToString() << "\n";
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  const std::string value = surge::bench::SampleCouponEvent(1).SerializeAsString();

  rocksdb::WriteOptions write_options;
  write_options.sync = absl::GetFlag(FLAGS_sync);
  surge::bench::LatencyHistogram latency;
  std::atomic<uint64_t> puts{0};
  std::atomic<bool> failed{false};
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (uint64_t i = 0; absl::Now() < end; ++i) {
        const std::string key = absl::StrFormat("%04d-%016d", t, i);
        const absl::Time begin = absl::Now();
        if (!db->Put(write_options, key, value).ok()) {
          failed = true;
          return;
        }
        latency.Record(absl::ToInt64Nanoseconds(absl::Now() - begin));
        puts.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& w : workers) w.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  db.reset();
  if (temp) std::filesystem::remove_all(dir);
  if (failed) {
    std::cerr << "naive-put-bench: a put failed\n";
    return 1;
  }
  const double rate = puts.load() / seconds;
  std::printf("naive synced puts: %d threads, %zu-byte values, %.0f puts/s, p50 %.3f ms, "
              "p99 %.3f ms\n",
              threads, value.size(), rate, latency.Percentile(0.5) / 1e6,
              latency.Percentile(0.99) / 1e6);
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream out(path);
    out << absl::StrFormat(
        "{\"threads\": %d, \"value_bytes\": %d, \"seconds\": %.3f, \"puts\": %d, "
        "\"puts_per_second\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f}\n",
        threads, value.size(), seconds, puts.load(), rate, latency.Percentile(0.5) / 1e3,
        latency.Percentile(0.99) / 1e3);
  }
  return 0;
}
