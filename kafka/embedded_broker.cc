#include "kafka/embedded_broker.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/thread_name.h"
#include "kafka/internal/config.h"
#include "kafka/internal/errors.h"
#include "kafka/internal/holders.h"
#include "kafka/topics.h"

namespace surge::kafka {
namespace {

struct MockClusterDeleter {
  void operator()(rd_kafka_mock_cluster_t* cluster) const {
    rd_kafka_mock_cluster_destroy(cluster);
  }
};
using MockClusterHandle = std::unique_ptr<rd_kafka_mock_cluster_t, MockClusterDeleter>;

// Ports of a "host:port,host:port" bootstrap list (unparsable entries skipped).
std::vector<int> BrokerPorts(const std::string& bootstrap) {
  std::vector<int> ports;
  for (absl::string_view entry : absl::StrSplit(bootstrap, ',')) {
    const size_t colon = entry.rfind(':');
    int port = 0;
    if (colon != absl::string_view::npos && absl::SimpleAtoi(entry.substr(colon + 1), &port) &&
        port > 0 && port < 65536) {
      ports.push_back(port);
    }
  }
  return ports;
}

// Keeps the mock cluster's thread awake while one control call is pending.
//
// Why: a control call (topic create, broker down/up, ...) posts an op to the
// cluster thread and blocks for the answer. In librdkafka 2.0.2 that thread
// sometimes misses the queue's wake-up and only serves the op when its
// poll() times out, after a full second (measured: 0-2 s for the 12 topics
// of a start, 1 s steps). A loopback connection to a mock broker's listener
// wakes that poll() at once, so while the call is pending a helper thread
// connects to every broker (one may be down) every 2 ms (measured: 12
// topics in <= 60 ms). Not thread-safe: one instance per call.
class ClusterWaker {
 public:
  explicit ClusterWaker(const std::string& bootstrap)
      : ports_(BrokerPorts(bootstrap)), thread_([this] {
          SetCurrentThreadName("surge-brokerwake");
          if (ports_.empty()) return;
          while (!done_.WaitForNotificationWithTimeout(absl::Milliseconds(2))) {
            for (int port : ports_) Poke(port);
          }
        }) {}
  ~ClusterWaker() {
    done_.Notify();
    thread_.join();
  }
  ClusterWaker(const ClusterWaker&) = delete;
  ClusterWaker& operator=(const ClusterWaker&) = delete;

 private:
  static void Poke(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // The outcome does not matter: the listener's readiness is the wake-up.
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
    close(fd);
  }

  const std::vector<int> ports_;
  absl::Notification done_;
  std::thread thread_;  // last: started once the fields above exist
};

}  // namespace

struct EmbeddedBroker::Impl {
  Options options;
  std::string bootstrap;
  // Declared before `cluster` so it is destroyed after it: the cluster lives
  // on this handle's threads.
  internal::ClientHandle host;
  // The mock cluster's API is internally synchronised (it posts operations to
  // its own thread), so no mutex is needed here.
  MockClusterHandle cluster;
};

std::vector<std::string> EmbeddedBroker::Options::DefaultTopics() { return EventTopics(); }

absl::StatusOr<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(const Options& options) {
  if (options.brokers < 1) return absl::InvalidArgumentError("brokers must be >= 1");
  if (options.partitions < 1) return absl::InvalidArgumentError("partitions must be >= 1");
  if (options.replication_factor < 1 || options.replication_factor > options.brokers) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication_factor must be in [1, brokers=", options.brokers, "]"));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  // A producer that never produces: it only hosts the cluster. No bootstrap
  // servers, so it opens no connections of its own.
  absl::StatusOr<internal::ConfHandle> conf = internal::MakeConf({{"log_level", "3"}});
  if (!conf.ok()) return conf.status();
  absl::StatusOr<internal::ClientHandle> host =
      internal::NewClient(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!host.ok()) return absl::InternalError(host.status().message());
  impl->host = std::move(*host);
  impl->cluster.reset(rd_kafka_mock_cluster_new(impl->host.get(), options.brokers));
  if (impl->cluster == nullptr) return absl::InternalError("rd_kafka_mock_cluster_new failed");
  impl->bootstrap = rd_kafka_mock_cluster_bootstraps(impl->cluster.get());

  auto broker = std::unique_ptr<EmbeddedBroker>(new EmbeddedBroker(std::move(impl)));
  for (const std::string& topic : options.topics) {
    absl::Status status = broker->CreateTopic(topic, options.partitions);
    if (status.ok()) status = broker->CreateTopic(DeadLetterTopic(topic), options.partitions);
    if (!status.ok()) return status;
  }
  SURGE_LOG(INFO, "kafka") << "embedded broker: " << options.brokers << " brokers, "
                           << options.partitions
                           << " partitions, bootstrap=" << broker->bootstrap_servers();
  return broker;
}

EmbeddedBroker::EmbeddedBroker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EmbeddedBroker::~EmbeddedBroker() = default;

const std::string& EmbeddedBroker::bootstrap_servers() const { return impl_->bootstrap; }

const EmbeddedBroker::Options& EmbeddedBroker::options() const { return impl_->options; }

absl::Status EmbeddedBroker::CreateTopic(absl::string_view topic, int partitions) {
  const std::string name(topic);
  ClusterWaker waker(impl_->bootstrap);
  return internal::KafkaStatus(
      rd_kafka_mock_topic_create(impl_->cluster.get(), name.c_str(), partitions,
                                 impl_->options.replication_factor),
      absl::StrCat("create topic ", topic));
}

absl::Status EmbeddedBroker::SetBrokerDown(int32_t broker_id) {
  ClusterWaker waker(impl_->bootstrap);
  return internal::KafkaStatus(rd_kafka_mock_broker_set_down(impl_->cluster.get(), broker_id),
                               absl::StrCat("set broker ", broker_id, " down"));
}

absl::Status EmbeddedBroker::SetBrokerUp(int32_t broker_id) {
  ClusterWaker waker(impl_->bootstrap);
  return internal::KafkaStatus(rd_kafka_mock_broker_set_up(impl_->cluster.get(), broker_id),
                               absl::StrCat("set broker ", broker_id, " up"));
}

absl::Status EmbeddedBroker::SetBrokerRtt(int32_t broker_id, absl::Duration rtt) {
  ClusterWaker waker(impl_->bootstrap);
  return internal::KafkaStatus(
      rd_kafka_mock_broker_set_rtt(impl_->cluster.get(), broker_id,
                                   static_cast<int>(absl::ToInt64Milliseconds(rtt))),
      absl::StrCat("set broker ", broker_id, " rtt"));
}

void EmbeddedBroker::PushRequestErrors(int16_t api_key, const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  codes.reserve(errors.size());
  for (int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(impl_->cluster.get(), api_key, codes.size(),
                                          codes.data());
}

void EmbeddedBroker::PushProduceErrors(const std::vector<int>& errors) {
  PushRequestErrors(kProduceApiKey, errors);
}

void EmbeddedBroker::ClearRequestErrors(int16_t api_key) {
  rd_kafka_mock_clear_request_errors(impl_->cluster.get(), api_key);
}

absl::Status EmbeddedBroker::SetPartitionLeader(absl::string_view topic, int32_t partition,
                                                int32_t broker_id) {
  const std::string name(topic);
  ClusterWaker waker(impl_->bootstrap);
  return internal::KafkaStatus(
      rd_kafka_mock_partition_set_leader(impl_->cluster.get(), name.c_str(), partition, broker_id),
      absl::StrCat("move leader of ", topic, "/", partition, " to ", broker_id));
}

}  // namespace surge::kafka

// TCP_NODELAY on the mock brokers' connections.
//
// Why: librdkafka's mock cluster (2.0.2) accepts its connections with
// accept() and leaves Nagle's algorithm on, while a Kafka broker sets
// TCP_NODELAY on every socket. A client with several requests in flight on
// one connection (an idempotent producer writing to several partitions:
// one ProduceRequest per partition) then gets the first response at once
// and the others only when it acknowledges that one, after the kernel's
// delayed-ACK timer: measured with one producer flushing one record to
// each of 6 partitions of surge-kafka-dev, 44 ms per flush, against
// 0.1-0.2 ms for one or two partitions. Every decider's changelog write is
// such a flush, so the dev broker, unlike a real one, capped a cluster's
// decisions at about 20 batches a second.
//
// The mock gives no hook on its sockets, so this process's accept() is
// wrapped: the executable's definition comes before libc's for librdkafka
// (and every other library), calls libc's and sets TCP_NODELAY on accepted
// TCP connections. Harmless for any other server in the process (gRPC sets
// it already). Linked into every binary that links this file: surge-server
// (the embedded broker), surge-kafka-dev and the tests.
extern "C" int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  using AcceptFn = int (*)(int, struct sockaddr*, socklen_t*);
  static const AcceptFn libc_accept = reinterpret_cast<AcceptFn>(dlsym(RTLD_NEXT, "accept"));
  if (libc_accept == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int s = libc_accept(fd, addr, len);
  if (s >= 0) {
    sockaddr_storage local{};
    socklen_t local_len = sizeof(local);
    if (getsockname(s, reinterpret_cast<sockaddr*>(&local), &local_len) == 0 &&
        (local.ss_family == AF_INET || local.ss_family == AF_INET6)) {
      const int on = 1;
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));  // best effort
    }
  }
  return s;
}
