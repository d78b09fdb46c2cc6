#!/usr/bin/env bash
# Runs every benchmark of issue 5 in one go on this machine and writes
# BENCHMARKS.md (and bench/results/*.svg, *.json) at the repository root:
#   the PostgreSQL transactional-outbox peer first (bench/pg_baseline.sh), then
#   surge-server (sync durability, fresh temp data dir, free port) driven by
#   surge-bench: noop (gRPC ceiling), orders, flash-sale, mixed, open loop at
#   half the maximum, open loop at 0.25-3 × the decided rate (the offered-load
#   curve); idle CPU over 30 s; then naive synced RocksDB puts,
#   Redis + Lua coupon check, event codec microbenchmarks, RSS and restart time;
#   server CPU per command (no-op call, order, coupon request) on fresh servers
#   with the embedded broker and with surge-kafka-dev in its own process.
# Everything runs on loopback, is bounded in time and stops what it started
# (by PID) on exit.
#
#   bench/run.sh                      # defaults below
#   BUILD_DIR=build CONCURRENCY=32 DURATION=5s bench/run.sh
#   BENCH_QUICK=1 bench/run.sh        # quick mode: 5 s phases, 50k-request
#                                     # flash sales, 300k commands before RSS
#                                     # (shorter; the report says which mode)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
BENCH_QUICK=${BENCH_QUICK:-0}
if [[ "$BENCH_QUICK" == 1 ]]; then
  DURATION=${DURATION:-5s}
  FLASH_REQUESTS=${FLASH_REQUESTS:-50000}
  FILL_COMMANDS=${FILL_COMMANDS:-300000}
fi
CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
FLASH_REQUESTS=${FLASH_REQUESTS:-100000}
FLASH_COUPONS=${FLASH_COUPONS:-1000}
FLASH_USERS=${FLASH_USERS:-50000}
RESULTS=${RESULTS:-$ROOT/bench/results}
BENCHMARKS_OUT=${BENCHMARKS_OUT:-$ROOT/BENCHMARKS.md}  # the report (a smoke run may write elsewhere)
SETTLE=${SETTLE:-true}  # false: accept side only (no settle latency, no checks)
# Commands served (scenarios + fill) before RSS is taken and the server is
# restarted on its log; the fill is flash-sale coupon requests (accept side
# only, 2 events each). 0 skips the fill.
FILL_COMMANDS=${FILL_COMMANDS:-1000000}
# The offered-load curve: open-loop orders at these multiples of the
# closed-loop decided rate, each for CURVE_DURATION.
CURVE_FACTORS=${CURVE_FACTORS:-0.25 0.5 1 1.5 2 3}
CURVE_DURATION=${CURVE_DURATION:-$DURATION}
IDLE_SECONDS=${IDLE_SECONDS:-30}  # idle CPU window after the scenarios (issue 13: 30 s)
# Idle window on each fresh server of the CPU-per-command runs, before its
# no-op calls: the background those calls are net of.
IDLE_CPU_SECONDS=${IDLE_CPU_SECONDS:-10}
PY=/usr/bin/python3

find_bin() {  # the first executable called $1 under the build dir
  find "$BUILD_DIR" -type f -name "$1" -perm -u+x 2>/dev/null | head -n1
}
SURGE_SERVER=${SURGE_SERVER:-$(find_bin surge-server)}
SURGE_BENCH=${SURGE_BENCH:-$(find_bin surge-bench)}
NAIVE_PUT=${NAIVE_PUT:-$(find_bin naive-put-bench)}
CODEC_MICRO=${CODEC_MICRO:-$(find_bin event_codec_microbench)}
PROJECTION_MICRO=${PROJECTION_MICRO:-$(find_bin projection_microbench)}
APPEND_MICRO=${APPEND_MICRO:-$(find_bin append_microbench)}
KAFKA_DEV=${KAFKA_DEV:-$(find_bin surge-kafka-dev)}
for b in SURGE_SERVER SURGE_BENCH NAIVE_PUT KAFKA_DEV; do
  if [[ -z "${!b}" ]]; then echo "run.sh: $b not found under $BUILD_DIR (build it first)" >&2; exit 1; fi
done
# PostgreSQL for the outbox peer (an optional group of install-deps.sh).
"$ROOT/scripts/install-deps.sh" --bench || echo "run.sh: install-deps --bench failed; the PostgreSQL peer may be missing" >&2

WORK=$(mktemp -d /tmp/surge-bench.XXXXXX)
SERVER_PID=""
REDIS_PID=""
BROKER_PID=""
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [[ -n "$BROKER_PID" ]] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null || true
  [[ -n "$REDIS_PID" ]] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# Whether the sources differ from the commit (the results and the report,
# rewritten by every run, do not count); asked before the old results go.
DIRTY=$(git -C "$ROOT" diff --quiet HEAD -- . ':!bench/results' ':!BENCHMARKS.md' 2>/dev/null &&
  echo false || echo true)
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json "$RESULTS"/*.svg "$RESULTS"/*.csv "$RESULTS"/*.txt "$RESULTS"/*.err "$RESULTS"/*.dat \
  "$RESULTS"/*.tsv

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts surge-server on the data dir $1 (more flags may follow); sets
# SERVER_PID, TARGET and METRICS (host:port of /metrics).
start_server() {
  local data=$1 port_file=$WORK/port
  shift
  rm -f "$port_file"
  METRICS="127.0.0.1:$(free_port)"
  "$SURGE_SERVER" --grpc_addr=127.0.0.1:0 --port_file="$port_file" --data_dir="$data" \
    --durability=sync --metrics_addr="$METRICS" "$@" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 3000); do
    if [[ -s "$port_file" ]]; then
      TARGET="127.0.0.1:$(tr -d '[:space:]' <"$port_file")"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "surge-server died:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; }
    sleep 0.01
  done
  echo "surge-server did not publish its port in 30 s" >&2; exit 1
}

metric() {  # metric <name>: the first sample of an unlabelled metric, as an integer (0 if absent)
  curl -s "http://$METRICS/metrics" | awk -v m="$1" '$1 == m {v = $2} END {printf "%d\n", v + 0}'
}

memory_json() {  # what the RSS is made of, by the server's own counts (bytes), as JSON
  printf '{"allocator_allocated": %s, "allocator_resident": %s, "memtables": %s, "block_cache": %s, "table_readers": %s}' \
    "$(metric surge_allocator_allocated_bytes)" "$(metric surge_allocator_resident_bytes)" \
    "$(metric surge_eventstore_memtable_bytes)" "$(metric surge_eventstore_block_cache_bytes)" \
    "$(metric surge_eventstore_table_readers_bytes)"
}

load_avg() { cut -d' ' -f1 /proc/loadavg; }
echo "{\"load_start\": $(load_avg)," >"$RESULTS/load.json.part"
# The commit and time the figures belong to (the report may be regenerated
# later, e.g. after the hand-written notes change).
printf '{"commit": "%s", "date": "%s", "quick": %s, "duration": "%s", "flash_requests": %s, "fill_commands": %s, "dirty": %s}\n' \
  "$(git -C "$ROOT" rev-parse --short HEAD)" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  "$([[ "$BENCH_QUICK" == 1 ]] && echo true || echo false)" "$DURATION" "$FLASH_REQUESTS" \
  "$FILL_COMMANDS" "$DIRTY" \
  >"$RESULTS/run.json"

stop_server() {
  kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# A failed run (exit 2: invariant violated) is recorded, not fatal: the
# report shows it next to the figures of the runs that worked.
bench() {  # bench <name> <surge-bench flags...>
  local name=$1 rc=0; shift
  echo "== surge-bench $name" >&2
  "$SURGE_BENCH" --target="$TARGET" --concurrency="$CONCURRENCY" --warmup="$WARMUP" \
    --settle_timeout=60s --settle="$SETTLE" --json="$RESULTS/$name.json" "$@" \
    >"$RESULTS/$name.txt" 2>"$RESULTS/$name.err" || rc=$?
  cat "$RESULTS/$name.txt" "$RESULTS/$name.err"
  if [[ $rc -ne 0 ]]; then
    echo "{\"exit\": $rc, \"stderr\": $($PY -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()[-400:]))' "$RESULTS/$name.err")}" >"$RESULTS/$name.failed.json"
  fi
}

thread_cpu() {  # thread_cpu <file> [pid]: "<thread name>\t<utime ticks>\t<stime ticks>" per thread
  for t in /proc/"${2:-$SERVER_PID}"/task/*; do
    local stat name
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    name=${stat#*(}; name=${name%)*}
    read -r -a f <<<"${stat##*) }"
    printf '%s\t%s\t%s\n' "$name" "${f[11]}" "${f[12]}"
  done >"$1"
}
proc_cpu() {  # proc_cpu <pid>: utime + stime of the whole process (exited threads included), ticks
  local stat
  stat=$(cat "/proc/$1/stat")
  read -r -a f <<<"${stat##*) }"
  echo $((f[11] + f[12]))
}
now() { date +%s.%N; }
# Waits (at most 120 s) until the pipeline is quiet: nothing left to relay,
# every projection's topic consumed, and the log head unchanged for 1 s.
wait_quiet() {
  local head last="" lag
  for _ in $(seq 1 240); do
    lag=$(curl -s "http://$METRICS/metrics" | awk '$1 ~ /^surge_relay_lag_events/ || $1 ~ /^surge_projection_lag_messages/ {s += $2} END {printf "%d\n", s + 0}')
    head=$(metric surge_log_head_position)
    if [[ $lag -eq 0 && "$head" == "$last" ]]; then return 0; fi
    last=$head
    sleep 0.5
  done
  echo "run.sh: the pipeline did not go quiet in 120 s" >&2
}
# idle_cpu <name> <seconds>: the server's CPU over <seconds> with no client,
# once the pipeline is quiet; per thread too.
idle_cpu() {
  local name=$1 secs=$2 c0 c1 b0=0 b1=0 t0 t1
  wait_quiet
  echo "== idle CPU, $name, ${secs} s" >&2
  thread_cpu "$RESULTS/$name-threads-before.tsv"
  c0=$(proc_cpu "$SERVER_PID"); t0=$(now)
  [[ -n "$BROKER_PID" ]] && b0=$(proc_cpu "$BROKER_PID")
  sleep "$secs"
  c1=$(proc_cpu "$SERVER_PID"); t1=$(now)
  [[ -n "$BROKER_PID" ]] && b1=$(proc_cpu "$BROKER_PID")
  thread_cpu "$RESULTS/$name-threads-after.tsv"
  echo "{\"ticks\": $((c1 - c0)), \"broker_ticks\": $((b1 - b0)), \"seconds\": $($PY -c "print(round($t1 - $t0, 3))"), \"clk_tck\": $(getconf CLK_TCK)}" \
    >"$RESULTS/$name.json"
}
# cpu_run <config> <scenario> <surge-bench flags...>: server CPU (and the
# external broker's, when BROKER_PID is set) of one load run, from before it
# until the pipeline is quiet again: every decision included (no-op calls
# leave nothing behind: their window ends with the client). Accept side only
# on the client (--settle=false: no Subscribe stream, no log check, which
# would cost the server CPU of their own); setup still waits for the
# projections.
cpu_run() {
  local config=$1 scen=$2 name c0 c1 b0=0 b1=0 t0 t1 rc=0
  shift 2
  name="cpu-$config-$scen"
  echo "== $name" >&2
  wait_quiet
  thread_cpu "$RESULTS/$name-threads-before.tsv"
  c0=$(proc_cpu "$SERVER_PID"); t0=$(now)
  [[ -n "$BROKER_PID" ]] && b0=$(proc_cpu "$BROKER_PID")
  "$SURGE_BENCH" --target="$TARGET" --scenario="$scen" --concurrency="$CONCURRENCY" --warmup=0s \
    --settle=false --setup_wait --json="$RESULTS/$name.bench.json" "$@" >"$RESULTS/$name.txt" 2>&1 || rc=$?
  [[ "$scen" == noop ]] || wait_quiet
  c1=$(proc_cpu "$SERVER_PID"); t1=$(now)
  [[ -n "$BROKER_PID" ]] && b1=$(proc_cpu "$BROKER_PID")
  thread_cpu "$RESULTS/$name-threads-after.tsv"
  echo "{\"ticks\": $((c1 - c0)), \"broker_ticks\": $((b1 - b0)), \"seconds\": $($PY -c "print(round($t1 - $t0, 3))"), \"clk_tck\": $(getconf CLK_TCK), \"exit\": $rc}" \
    >"$RESULTS/$name.json"
}

# Before each phase: the previous phase's aftermath written back (sync:
# PostgreSQL's WAL and deleted files, RocksDB's last flushes), then up to 30 s
# for both CPUs to be at least 90% idle over a second, so what one phase
# left running does not land in the next one's figures. Prints the seconds
# waited and the idle share reached.
quiesce() {
  sync
  $PY - <<'QUIESCE'
import time
def sample():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[3], sum(v)  # idle (not iowait: writeback still running), total
start = time.time()
share = 0.0
while time.time() - start < 30:
    i0, t0 = sample(); time.sleep(1); i1, t1 = sample()
    share = (i1 - i0) / max(1, t1 - t0)
    if share >= 0.9:
        break
print(f"{time.time() - start:.0f}s {share * 100:.0f}%")
QUIESCE
}

phase() {  # phase <name>: the machine settled, then the 1-min load average as the phase starts
  local settled
  settled=$(quiesce)
  printf '%s\t%s (after %s idle)\n' "$1" "$(load_avg)" "$settled" >>"$RESULTS/phases.tsv"
  # CPU time the hypervisor gave to other guests ("steal", /proc/stat) and
  # all CPU time, cumulative, as the phase starts: the report shows the
  # share stolen during each phase, which moves figures between runs.
  awk -v n="$1" '$1 == "cpu" {t = 0; for (i = 2; i <= 9; i++) t += $i; printf "%s\t%d\t%d\n", n, $9, t}' \
    /proc/stat >>"$RESULTS/steal.tsv"
}

# ------------------------------------------------------------ the peer ----
# Right before surge's scenarios and again once surge-server is stopped after
# them (pg, pg2): the ratios the issue asks for (orders decided vs PostgreSQL
# orders, coupon requests vs PostgreSQL coupons) are taken against the faster
# of the two passes, which bracket surge's scenarios on a shared machine.
pg_pass() {  # pg_pass <tag>
  CONCURRENCY=$CONCURRENCY DURATION=$DURATION FLASH_REQUESTS=$FLASH_REQUESTS \
    FLASH_COUPONS=$FLASH_COUPONS FLASH_USERS=$FLASH_USERS "$ROOT/bench/pg_baseline.sh" "$RESULTS" "$1" \
    || echo "run.sh: the PostgreSQL baseline ($1) failed" >&2
}
phase postgresql
pg_pass pg

# ---------------------------------------------------------------- surge ----
phase surge-scenarios
start_server "$WORK/data"
bench noop --scenario=noop --duration="$DURATION"
bench orders --scenario=orders --duration="$DURATION"
bench flash-sale --scenario=flash-sale --requests="$FLASH_REQUESTS" \
  --coupons="$FLASH_COUPONS" --users="$FLASH_USERS" --warmup=0s
bench mixed --scenario=mixed --duration="$DURATION"
HALF=$($PY -c 'import json,sys; print(max(1, int(json.load(open(sys.argv[1]))["accepted_per_second"] / 2)))' "$RESULTS/orders.json" 2>/dev/null || echo 100)
# Around the open loop: the server's CPU per thread (/proc) and its metrics,
# so the report can say where an order's time and CPU go at that rate.
thread_cpu "$RESULTS/orders-open-threads-before.tsv"
curl -s "http://$METRICS/metrics" >"$RESULTS/orders-open-metrics-before.txt" || true
bench orders-open --scenario=orders --duration="$DURATION" --rate="$HALF" --concurrency=4096
thread_cpu "$RESULTS/orders-open-threads-after.tsv"
curl -s "http://$METRICS/metrics" >"$RESULTS/orders-open-metrics-after.txt" || true

# Offered load vs accepted, refused, decided and settle p99 (issue 13 §4):
# open loop at multiples of the closed-loop orders' decided rate, with the
# server's admission on (its defaults). Each run settles before the next one
# starts.
CURVE_BASE=$($PY -c 'import json,sys; r = json.load(open(sys.argv[1])); print(int(r.get("decided_per_second") or r["accepted_per_second"]))' "$RESULTS/orders.json" 2>/dev/null || echo 500)
: >"$RESULTS/curve.tsv"
for f in $CURVE_FACTORS; do
  rate=$($PY -c "print(max(1, int($CURVE_BASE * $f)))")
  bench "curve-$f" --scenario=orders --duration="$CURVE_DURATION" --rate="$rate" --concurrency=4096
  printf '%s\t%s\n' "$f" "$rate" >>"$RESULTS/curve.tsv"
done

# Idle cost after the scenarios (embedded broker), issue 13.
phase idle
idle_cpu idle-embedded "$IDLE_SECONDS"
phase fill

# Group commit actually achieved over the scenarios above.
BATCH_COUNT=$(metric surge_eventstore_append_batch_size_count)
BATCH_SUM=$(metric surge_eventstore_append_batch_size_sum)
RSS_SCENARIOS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
MEMORY_SCENARIOS_JSON=$(memory_json)

# Fill until FILL_COMMANDS commands were served in all (the scenarios' and
# the fill's; no-op calls do not count), then take RSS.
accepted_of() {  # accepted_of <surge-bench json>: its accepted count (0 if unreadable)
  $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$1" 2>/dev/null || echo 0
}
SERVED=0
for name in orders flash-sale mixed orders-open; do
  SERVED=$((SERVED + $(accepted_of "$RESULTS/$name.json")))
done
for f in $CURVE_FACTORS; do
  SERVED=$((SERVED + $(accepted_of "$RESULTS/curve-$f.json")))
done
FILL_ACCEPTED=0
if [[ "$FILL_COMMANDS" -gt 0 ]]; then
  echo "== fill to $FILL_COMMANDS commands ($SERVED served by the scenarios)" >&2
  for _ in $(seq 1 100); do
    [[ $((SERVED + FILL_ACCEPTED)) -ge $FILL_COMMANDS ]] && break
    "$SURGE_BENCH" --target="$TARGET" --scenario=flash-sale --concurrency="$CONCURRENCY" \
      --requests=100000 --users="$FLASH_USERS" --coupons="$FLASH_COUPONS" --warmup=0s \
      --settle=false --json="$WORK/fill.json" >/dev/null 2>&1 || true
    FILL_ACCEPTED=$((FILL_ACCEPTED + $(accepted_of "$WORK/fill.json")))
  done
  # Let the projections catch up, as a restarted production server would find them.
  for _ in $(seq 1 600); do
    LAG=$(curl -s "http://$METRICS/metrics" | awk '$1 ~ /^surge_projection_lag_(events|messages)/ {s += $2} END {printf "%d\n", s + 0}')
    [[ $LAG -eq 0 ]] && break
    sleep 0.5
  done
fi
HEAD=$(metric surge_log_head_position)
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
MEMORY_JSON=$(memory_json)

# Restart: a clean stop, then the time until the restarted server serves
# (publishes its port: gRPC is listening and every service is registered)
# and until it answers one call.
stop_server
T0=$(date +%s.%N)
start_server "$WORK/data"
T1=$(date +%s.%N)
"$SURGE_BENCH" --target="$TARGET" --scenario=noop --requests=1 --warmup=0s --concurrency=1 >/dev/null
T2=$(date +%s.%N)
stop_server
grep -E 'opened .* at head position|embedded broker|serving surge' "$WORK/server.log" | tail -3 \
  >"$RESULTS/restart-log.txt" || true
cat >"$RESULTS/server.json" <<JSON
{"rss_kib": $RSS_KB, "rss_scenarios_kib": $RSS_SCENARIOS_KB, "fill_accepted": $FILL_ACCEPTED,
 "memory": $MEMORY_JSON, "memory_scenarios": $MEMORY_SCENARIOS_JSON,
 "head_events": $HEAD, "restart_seconds": $($PY -c "print(round($T1 - $T0, 3))"),
 "restart_first_call_seconds": $($PY -c "print(round($T2 - $T0, 3))"),
 "batches": $BATCH_COUNT, "batch_appends": $BATCH_SUM}
JSON

phase postgresql-2
pg_pass pg2

# ---------------------------------------------------- CPU per command ----
# Server CPU of one no-op gRPC call, one order and one coupon request, on a
# fresh server in two configurations: the embedded broker, and
# surge-kafka-dev in its own process (production-like: the broker's CPU is
# not the server's; it is recorded apart).
cpu_config() {  # cpu_config <config>
  idle_cpu "cpu-$1-idle" "$IDLE_CPU_SECONDS"
  cpu_run "$1" noop --duration="$DURATION"
  cpu_run "$1" orders --duration="$DURATION"
  cpu_run "$1" flash-sale --requests="$FLASH_REQUESTS" --coupons="$FLASH_COUPONS" --users="$FLASH_USERS"
}
phase cpu-embedded
start_server "$WORK/data-cpu-embedded"
cpu_config embedded
stop_server

echo "== surge-kafka-dev" >&2
"$KAFKA_DEV" --brokers=1 --partitions=6 --bootstrap_file="$WORK/kafka.txt" >"$WORK/kafka-dev.log" 2>&1 &
BROKER_PID=$!
for _ in $(seq 1 3000); do
  [[ -s "$WORK/kafka.txt" ]] && break
  kill -0 "$BROKER_PID" 2>/dev/null || { echo "surge-kafka-dev died:" >&2; tail -20 "$WORK/kafka-dev.log" >&2; exit 1; }
  sleep 0.01
done
phase cpu-external
start_server "$WORK/data-cpu-external" --kafka_brokers="$(cat "$WORK/kafka.txt")" --kafka_fetch_wait_ms=1
cpu_config external
stop_server
kill "$BROKER_PID" && wait "$BROKER_PID" 2>/dev/null || true
BROKER_PID=""

# ------------------------------------------------------------ baselines ----
phase other-baselines
echo "== naive synced puts" >&2
"$NAIVE_PUT" --threads="$CONCURRENCY" --duration="$DURATION" --json="$RESULTS/naive-put.json" \
  | tee "$RESULTS/naive-put.txt"

echo "== redis + lua" >&2
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$WORK" --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 200); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
SHA=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "$(cat "$ROOT/bench/redis_coupon.lua")")
redis_run() {  # redis_run <name>: one flash sale, same shape as surge's
  redis-cli -p "$REDIS_PORT" DEL sale:users sale:issued >/dev/null
  redis-benchmark -p "$REDIS_PORT" -c "$CONCURRENCY" -n "$FLASH_REQUESTS" -r "$FLASH_USERS" --csv \
    EVALSHA "$SHA" 2 sale:users sale:issued "u:__rand_int__" "$FLASH_COUPONS" >"$RESULTS/$1.csv"
  local issued users
  issued=$(redis-cli -p "$REDIS_PORT" GET sale:issued)
  users=$(redis-cli -p "$REDIS_PORT" SCARD sale:users)
  echo "{\"issued\": $issued, \"users_served\": $users}" >"$RESULTS/$1-check.json"
  cat "$RESULTS/$1.csv"
}
redis_run redis
# The same with every write fsynced (AOF appendfsync always): durable Redis.
redis-cli -p "$REDIS_PORT" CONFIG SET appendonly yes >/dev/null
redis-cli -p "$REDIS_PORT" CONFIG SET appendfsync always >/dev/null
sleep 1  # the AOF rewrite that enabling appendonly starts
redis_run redis-aof
kill "$REDIS_PID" && wait "$REDIS_PID" 2>/dev/null || true
REDIS_PID=""


if [[ -n "$CODEC_MICRO" ]]; then
  echo "== event codec microbenchmarks" >&2
  "$CODEC_MICRO" --benchmark_min_time=0.2 --benchmark_format=json >"$RESULTS/codec.json"
fi
if [[ -n "$PROJECTION_MICRO" ]]; then
  echo "== projection apply microbenchmarks" >&2
  "$PROJECTION_MICRO" --benchmark_min_time=0.2 --benchmark_format=json >"$RESULTS/projection.json"
fi
if [[ -n "$APPEND_MICRO" ]]; then
  echo "== append (group commit) microbenchmarks" >&2
  (cd "$WORK" && "$APPEND_MICRO" --benchmark_format=json >"$RESULTS/append.json" 2>/dev/null) || true
fi

phase end
echo " \"load_end\": $(load_avg)}" >>"$RESULTS/load.json.part"
mv "$RESULTS/load.json.part" "$RESULTS/load.json"

# ---------------------------------------------------------------- report ----
$PY "$ROOT/bench/report.py" --results "$RESULTS" --root "$ROOT" --concurrency "$CONCURRENCY" \
  --out "$BENCHMARKS_OUT"
echo "wrote $BENCHMARKS_OUT" >&2
