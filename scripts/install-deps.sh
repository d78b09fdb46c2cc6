#!/usr/bin/env bash
# Installs every Debian package surge needs to build, test and operate.
# Idempotent and non-interactive: safe to run on every invocation of
# scripts/run.sh and scripts/test.sh. Skips apt entirely when everything is
# already installed, so repeated runs cost well under a second.
set -euo pipefail

PACKAGES=(
  # build
  cmake g++ make pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librdkafka-dev librocksdb-dev libabsl-dev prometheus-cpp-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tests and operation
  kcat python3 python3-grpcio python3-protobuf prometheus redis-server
  redis-tools gnuplot-nox openssl curl procps
  # the Node.js client (clients/node); npm is added below when missing
  nodejs
)

# Optional groups, asked for by the scripts that need them.
for arg in "$@"; do
  case "$arg" in
    --fuzz) PACKAGES+=(clang libclang-rt-14-dev) ;;   # scripts/fuzz.sh (libFuzzer)
    --perf) PACKAGES+=(valgrind linux-perf) ;;        # profiling the benchmarks
    --bench) PACKAGES+=(postgresql) ;;                # bench/run.sh: PostgreSQL outbox peer (initdb, postgres, pgbench)
    *) echo "install-deps: unknown option $arg (--fuzz, --perf, --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Debian's nodejs does not bundle npm (package npm); a nodejs from elsewhere
# may (one that Provides and Conflicts with npm), so ask apt for npm only when
# no npm command exists.
if ! command -v npm >/dev/null 2>&1 &&
  ! dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q "install ok installed"; then
  missing+=(npm)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
