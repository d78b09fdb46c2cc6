// Child process of the durability test: opens the store in sync mode and
// appends from several threads until killed, writing one line per
// acknowledged append to stdout:
//
//   ACK <idempotency key> <first position> <last position> <id,id,...>
//
// Each line is one write(2) on an unbuffered fd, so a line the parent reads
// was acknowledged before the kill. Usage: eventstore_crash_child <dir> <cycle>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "eventstore/event_store.h"

namespace {

constexpr int kThreads = 4;

void WriteLine(const std::string& line) {
  static absl::Mutex mu(absl::kConstInit);
  absl::MutexLock lock(&mu);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) _exit(3);  // parent went away
    done += static_cast<size_t>(n);
  }
}

void AppendForever(surge::eventstore::EventStore& store, const std::string& cycle, int thread) {
  const std::string stream = absl::StrCat("c", cycle, "-t", thread);
  for (int n = 0;; ++n) {
    const int count = 1 + n % 3;  // multi-event appends prove atomicity
    surge::eventstore::AppendRequest request;
    request.idempotency_key = absl::StrCat(stream, "-", n);
    for (int i = 0; i < count; ++i) {
      surge::v1::Event& event = request.events.emplace_back();
      event.set_stream_id(stream);
      event.set_request_id(request.idempotency_key);
      event.set_correlation_id(absl::StrCat(count));
      event.mutable_stock_adjusted()->set_sku(stream);
      event.mutable_stock_adjusted()->set_delta(n);
    }
    auto result = store.Append(std::move(request));
    if (!result.ok()) {
      std::fprintf(stderr, "append failed: %s\n", result.status().ToString().c_str());
      _exit(4);
    }
    WriteLine(absl::StrCat("ACK ", stream, "-", n, " ", result->first_position, " ",
                           result->last_position, " ", absl::StrJoin(result->event_ids, ","),
                           "\n"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <data dir> <cycle>\n", argv[0]);
    return 2;
  }
  surge::eventstore::Options options;
  options.durability = surge::eventstore::Durability::kSync;
  auto store = surge::eventstore::EventStore::Open(options, argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { AppendForever(**store, argv[2], t); });
  }
  for (std::thread& thread : threads) thread.join();  // never: killed by the parent
  return 0;
}
