#!/usr/bin/env bash
# The cluster benchmarks of issues 12 and 20 ("Measured"), in one go, on this
# machine; writes the raw figures to bench/cluster/results/ (RESULTS) and
# BENCHMARKS-cluster.md at the repository root when every issue-12 phase ran.
# Builds nothing: build first with
#
#   SURGE_BUILD_DIR=build-cbench scripts/build.sh --target surge-server surge-kafka-dev \
#     surge-bench surge-cli restore-bench
#
# Phases (PHASES, a space-separated subset, run in this order; each on a fresh
# surge-kafka-dev --brokers=1 --partitions=6, so that no phase restores or
# trips over the data of another; cluster nodes run with the README's
# cluster flags: --kafka_fetch_wait_ms=1 --cluster_session_timeout_ms=6000):
#   single     ONE surge-server WITHOUT --cluster on the same kind of broker
#              (--kafka_brokers=<surge-kafka-dev>, --kafka_fetch_wait_ms=1):
#              the same orders and flash-sale load as 1node (issue 20's
#              baseline)
#   1node      1-node cluster: orders (closed loop, DURATION) then a flash sale
#   3node      3-node cluster: the same load (the same CLIENTS surge-bench
#              processes, spread round-robin over the nodes)
#   3node-kafka  3-node cluster with --ack=kafka: the orders load again
#              (latency and throughput against 3node's --ack=log)
#   rebalance  3-node cluster under light load: SIGKILL n3, time until every
#              partition it owned is owned by a survivor and a coupon request
#              keyed to one of them is decided; REBALANCE_REPEATS times. The
#              nodes log librdkafka's consumer-group debug (cgrp) so that the
#              survivors' logs split each failover into detection, rebalance
#              and restore (REBALANCE_DEBUG=0: without it, no split)
#   restore    restore-bench: a Decider restoring 100k / 300k keys
#   history    restore-bench --history: restore seconds for 1x / 10x / 50x
#              the history behind the same live state (snapshots on), cold
#              and from a warm standby (issue 20)
# Server CPU per command is taken from /proc/<pid>/task/*/stat (utime+stime
# per thread, by role from the thread names) from before the clients start
# until the cluster is quiet again, summed over the nodes. Decided throughput
# comes from the decision events (order_confirmed/order_cancelled,
# coupon_issued/coupon_rejected) as they reach Kafka, read live by kcat and
# deduplicated by event id.
#
# The machine may be shared: before each throughput phase the script waits
# (at most QUIET_WAIT s) until other work uses less than QUIET_PCT% of a core,
# and it measures other work (all CPU in /proc/stat minus this run's) over
# every load window; the report shows both.
#
# Everything runs on loopback with kernel-chosen ports, is bounded in time
# (about 10 minutes here for every phase, plus at most QUIET_WAIT s before
# each throughput phase) and stops what it started, by PID,
# on exit. Only the files of the phases run are replaced in RESULTS. The
# issue-20 summary (single / 1node / 3node, the failover split, the history
# restores) is written to RESULTS/issue20.md from whatever phases are there.
#
#   bench/cluster/run.sh
#   PHASES="single 1node 3node" bench/cluster/run.sh
#   BUILD_DIR=build CONCURRENCY=48 DURATION=12s bench/cluster/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-cbench}
RESULTS=${RESULTS:-$ROOT/bench/cluster/results}
BENCHMARKS_OUT=${BENCHMARKS_OUT:-$ROOT/BENCHMARKS-cluster.md}
PARTITIONS=${PARTITIONS:-6}
SESSION_MS=${SESSION_MS:-6000}
CLIENTS=${CLIENTS:-3}              # surge-bench processes, round-robin over the nodes
CONCURRENCY=${CONCURRENCY:-48}     # calls in flight, over all clients
DURATION=${DURATION:-12s}          # orders, closed loop, per client
FLASH_REQUESTS=${FLASH_REQUESTS:-10000}  # coupon requests per client (each its own campaign)
FLASH_COUPONS=${FLASH_COUPONS:-1000}
FLASH_USERS=${FLASH_USERS:-50000}
IDLE_SECONDS=${IDLE_SECONDS:-5}    # idle CPU window of each throughput phase
REBALANCE_REPEATS=${REBALANCE_REPEATS:-3}
LIGHT_RATE=${LIGHT_RATE:-50}       # orders/s per survivor during the rebalance runs
RESTORE_KEYS=${RESTORE_KEYS:-100000,300000}
RESTORE_REPEATS=${RESTORE_REPEATS:-3}
HISTORY=${HISTORY:-1,10,50}        # multipliers of the history behind the same state
HISTORY_REPEATS=${HISTORY_REPEATS:-2}  # takeovers of each kind (cold, standby) per history
REBALANCE_DEBUG=${REBALANCE_DEBUG:-1}
QUIET_PCT=${QUIET_PCT:-25}         # before each throughput phase: wait until other work on the
QUIET_WAIT=${QUIET_WAIT:-60}       # machine uses < QUIET_PCT% of a core (at most QUIET_WAIT s)
ALL_PHASES="single 1node 3node 3node-kafka rebalance restore history"
PHASES=${PHASES:-$ALL_PHASES}
for p in $PHASES; do
  [[ " $ALL_PHASES " == *" $p "* ]] || { echo "run.sh: unknown phase $p (phases: $ALL_PHASES)" >&2; exit 1; }
done
want() { [[ " $PHASES " == *" $1 "* ]]; }
PY=/usr/bin/python3
HELPER="$ROOT/bench/cluster/report.py"

find_bin() {  # the first executable called $1 under the build dir
  find "$BUILD_DIR" -type f -name "$1" -perm -u+x 2>/dev/null | head -n1
}
SERVER=${SURGE_SERVER:-$(find_bin surge-server)}
KAFKA_DEV=${KAFKA_DEV:-$(find_bin surge-kafka-dev)}
BENCH=${SURGE_BENCH:-$(find_bin surge-bench)}
CLI=${SURGE_CLI:-$(find_bin surge-cli)}
RESTORE=${RESTORE_BENCH:-$(find_bin restore-bench)}
for b in SERVER KAFKA_DEV BENCH CLI RESTORE; do
  if [[ -z "${!b}" ]]; then echo "run.sh: $b not found under $BUILD_DIR (build it first)" >&2; exit 1; fi
done
command -v kcat >/dev/null || { echo "run.sh: kcat is needed (apt-get install kcat)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/surge-cbench.XXXXXX)
STARTED=()  # every PID this script started and has not reaped yet
declare -A NODE_PID ADDR MADDR
BROKER_PID=""
BOOT=""

forget() {  # forget <pid>: no longer ours to stop
  local keep=() p
  for p in "${STARTED[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  STARTED=("${keep[@]}")
}
stop_pid() {  # stop_pid <pid>: SIGTERM, 15 s grace, then SIGKILL; reaps it
  local pid=$1
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}
cleanup() {
  local rc=$? p
  # Clients and kcat first, then the nodes, the broker last.
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    p=${STARTED[$i]}
    kill "$p" 2>/dev/null || true
  done
  for p in "${STARTED[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then
    echo "run.sh: failed (exit $rc); logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$RESULTS"
# Only the files of the phases about to run (and the run's own) are replaced.
rm -f "$RESULTS"/run.json "$RESULTS"/load-end.txt
for p in $PHASES; do
  case $p in
    rebalance) rm -f "$RESULTS"/rebalance[-.]* ;;
    restore | history) rm -f "$RESULTS/$p".json "$RESULTS/$p".txt ;;
    *) rm -f "$RESULTS/$p"-{idle,orders,flash-sale}.* "$RESULTS/$p"-n[0-9]*.excerpt.log "$RESULTS/$p".load "$RESULTS/$p".gate.json ;;
  esac
done

now() { date +%s.%N; }
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

# ---------------------------------------------------------------- broker --
start_broker() {  # start_broker <phase>: a fresh surge-kafka-dev; sets BOOT
  local dir=$WORK/$1
  mkdir -p "$dir"
  "$KAFKA_DEV" --brokers=1 --partitions="$PARTITIONS" --bootstrap_file="$dir/kafka.txt" \
    >"$dir/kafka-dev.log" 2>&1 &
  BROKER_PID=$!
  STARTED+=("$BROKER_PID")
  for _ in $(seq 1 3000); do
    [[ -s "$dir/kafka.txt" ]] && break
    kill -0 "$BROKER_PID" 2>/dev/null || { echo "surge-kafka-dev died:" >&2; tail -20 "$dir/kafka-dev.log" >&2; exit 1; }
    sleep 0.01
  done
  [[ -s "$dir/kafka.txt" ]] || { echo "surge-kafka-dev published no bootstrap in 30 s" >&2; exit 1; }
  BOOT=$(tr -d '[:space:]' <"$dir/kafka.txt")
}
stop_broker() { stop_pid "$BROKER_PID"; BROKER_PID=""; }

# ----------------------------------------------------------------- nodes --
start_node() {  # start_node <phase> <i> [extra flags]: node n<i>; sets NODE_PID/ADDR/MADDR[i]
  local phase=$1 i=$2 dir=$WORK/$1
  shift 2
  rm -f "$dir/n$i.port" "$dir/n$i.mport"
  "$SERVER" --cluster --kafka_brokers="$BOOT" --kafka_partitions="$PARTITIONS" --node_id="n$i" \
    --data_dir="$dir/n$i" --grpc_addr=127.0.0.1:0 --port_file="$dir/n$i.port" \
    --metrics_addr=127.0.0.1:0 --metrics_port_file="$dir/n$i.mport" \
    --kafka_fetch_wait_ms=1 --cluster_session_timeout_ms="$SESSION_MS" "$@" >>"$dir/n$i.log" 2>&1 &
  NODE_PID[$i]=$!
  STARTED+=("${NODE_PID[$i]}")
  for _ in $(seq 1 3000); do
    if [[ -s "$dir/n$i.port" && -s "$dir/n$i.mport" ]]; then
      ADDR[$i]="127.0.0.1:$(tr -d '[:space:]' <"$dir/n$i.port")"
      MADDR[$i]="127.0.0.1:$(tr -d '[:space:]' <"$dir/n$i.mport")"
      return 0
    fi
    kill -0 "${NODE_PID[$i]}" 2>/dev/null || { echo "node n$i died:" >&2; tail -20 "$dir/n$i.log" >&2; exit 1; }
    sleep 0.01
  done
  echo "node n$i published no port in 30 s" >&2; exit 1
}
start_single() {  # start_single <phase>: a fresh broker and ONE surge-server without --cluster (node 1)
  local phase=$1 dir=$WORK/$1
  start_broker "$phase"
  rm -f "$dir/n1.port" "$dir/n1.mport"
  ADDR[1]=""
  MADDR[1]=""
  "$SERVER" --kafka_brokers="$BOOT" --kafka_partitions="$PARTITIONS" --node_id=n1 \
    --data_dir="$dir/n1" --grpc_addr=127.0.0.1:0 --port_file="$dir/n1.port" \
    --metrics_addr=127.0.0.1:0 --metrics_port_file="$dir/n1.mport" \
    --kafka_fetch_wait_ms=1 >>"$dir/n1.log" 2>&1 &
  NODE_PID[1]=$!
  STARTED+=("${NODE_PID[1]}")
  for _ in $(seq 1 3000); do
    if [[ -s "$dir/n1.port" && -s "$dir/n1.mport" ]]; then
      ADDR[1]="127.0.0.1:$(tr -d '[:space:]' <"$dir/n1.port")"
      MADDR[1]="127.0.0.1:$(tr -d '[:space:]' <"$dir/n1.mport")"
      break
    fi
    kill -0 "${NODE_PID[1]}" 2>/dev/null || { echo "single node died:" >&2; tail -20 "$dir/n1.log" >&2; exit 1; }
    sleep 0.01
  done
  [[ -n "${ADDR[1]:-}" ]] || { echo "single node published no port in 30 s" >&2; exit 1; }
  # Ready when its projections have caught up (lag 0) twice in a row.
  local ok=0
  for _ in $(seq 1 180); do
    if curl -s --max-time 2 "http://${MADDR[1]}/metrics" | grep -q '^surge_projection_lag_messages'; then
      if [[ $(metrics_sum 1 '^surge_projection_lag_messages') -eq 0 ]]; then
        ok=$((ok + 1)); [[ $ok -ge 2 ]] && return 0
      fi
    fi
    sleep 0.5
  done
  echo "run.sh: the single node's projections did not start in 90 s" >&2; exit 1
}
stop_nodes() {  # stop_nodes <n>: SIGTERM every node (they hand over and leave), reaped
  local i
  for ((i = 1; i <= $1; i++)); do [[ -n "${NODE_PID[$i]:-}" ]] && kill "${NODE_PID[$i]}" 2>/dev/null || true; done
  for ((i = 1; i <= $1; i++)); do stop_pid "${NODE_PID[$i]:-}"; NODE_PID[$i]=""; done
}
describe() {  # describe <i> <out>: DescribeCluster as JSON, asked of node i
  "$CLI" --addr "${ADDR[$1]}" cluster --json >"$2" 2>/dev/null
}
# wait_owned <n> <timeout s>: until node 1 sees n live members, every partition
# owned by one of them and each member deciding some of every decider's
# partitions, twice in a row 0.5 s apart.
wait_owned() {
  local n=$1 limit=$2 ok=0 start
  start=$(now)
  while $PY -c "import sys; sys.exit(0 if $(now) - $start < $limit else 1)"; do
    [[ $TRACK_DELAY == 1 ]] && track_delay "$n"
    if describe 1 "$WORK/describe.json" && $PY "$HELPER" cluster-ok "$WORK/describe.json" "$n"; then
      ok=$((ok + 1))
      [[ $ok -ge 2 ]] && return 0
    else
      ok=0
    fi
    sleep 0.5
  done
  echo "run.sh: the cluster of $n did not settle its partitions in $limit s:" >&2
  cat "$WORK/describe.json" >&2 || true
  exit 1
}
TRACK_DELAY=0
DELAY_WORST=0
track_delay() {  # track_delay <n>: DELAY_WORST = max(it, every node's oldest undecided wait now)
  local i d
  for ((i = 1; i <= $1; i++)); do
    d=$(curl -s --max-time 2 "http://${MADDR[$i]}/metrics" 2>/dev/null |
      awk '$1 == "surge_admission_decision_delay_seconds" {print $2 + 0}')
    [[ -n "$d" ]] && DELAY_WORST=$($PY -c "print(max($DELAY_WORST, $d))")
  done
  return 0
}
start_cluster() {  # start_cluster <phase> <n> [extra server flags]
  local phase=$1 n=$2 i
  shift 2
  start_broker "$phase"
  for ((i = 1; i <= n; i++)); do start_node "$phase" "$i" "$@"; done
  wait_owned "$n" 90
}
stop_cluster() {  # stop_cluster <phase> <n>: stop nodes and broker, keep their logs
  stop_nodes "$2"
  stop_broker
  local i
  # The first WARN/ERROR lines of each node (librdkafka's connection noise
  # at shutdown left out) and how many dead letters it wrote.
  for ((i = 1; i <= $2; i++)); do
    { grep -E ' (WARN|ERROR) ' "$WORK/$1/n$i.log" | grep -v '\[rocksdb\]' | head -6
      echo "... $(grep -c 'dead-lettered' "$WORK/$1/n$i.log") dead-lettered lines in all"
    } >"$RESULTS/$1-n$i.excerpt.log" 2>/dev/null || true
  done
}

# --------------------------------------------------------------- metrics --
metrics_sum() {  # metrics_sum <n> <awk regex of metric names>: summed over nodes
  local i total=0 v
  for ((i = 1; i <= $1; i++)); do
    v=$(curl -s --max-time 2 "http://${MADDR[$i]}/metrics" |
      awk -v re="$2" '$1 ~ re {s += $2} END {printf "%d\n", s + 0}')
    total=$((total + v))
  done
  echo "$total"
}
# wait_quiet <n>: nothing left to relay or mirror on any node and every log
# head unchanged for 1 s (at most 120 s).
wait_quiet() {
  local n=$1 lag heads last="" same=0
  for _ in $(seq 1 240); do
    lag=$(metrics_sum "$n" '^(surge_relay_lag_events|surge_cluster_changelog_lag_messages)')
    heads=""
    for ((i = 1; i <= n; i++)); do
      heads+="$(curl -s --max-time 2 "http://${MADDR[$i]}/metrics" | awk '$1 == "surge_log_head_position" {print $2}'),"
    done
    if [[ $lag -eq 0 && "$heads" == "$last" ]]; then
      same=$((same + 1))
      [[ $same -ge 2 ]] && return 0
    else
      same=0
    fi
    last=$heads
    sleep 0.5
  done
  echo "run.sh: the cluster did not go quiet in 120 s" >&2
}
# wait_decided <n> <limit s>: until on every node the oldest accepted but
# undecided command has waited < 1 s (surge_admission_decision_delay_seconds),
# twice in a row 0.5 s apart; prints "<seconds waited> <largest delay seen>".
wait_decided() {
  local n=$1 limit=$2 ok=0 start worst=0 d i
  start=$(now)
  while $PY -c "import sys; sys.exit(0 if $(now) - $start < $limit else 1)"; do
    d=0
    for ((i = 1; i <= n; i++)); do
      d=$(curl -s --max-time 2 "http://${MADDR[$i]}/metrics" |
        awk -v d="$d" '$1 == "surge_admission_decision_delay_seconds" && $2 > d {d = $2} END {print d + 0}')
    done
    worst=$($PY -c "print(max($worst, $d))")
    if $PY -c "import sys; sys.exit(0 if $d < 1.0 else 1)"; then
      ok=$((ok + 1))
      [[ $ok -ge 2 ]] && break
    else
      ok=0
    fi
    sleep 0.5
  done
  echo "$($PY -c "print(round($(now) - $start, 2))") $worst"
}
thread_cpu() {  # thread_cpu <pid> <file>: "<tid>\t<name>\t<utime>\t<stime>" per live thread
  local t stat name
  for t in /proc/"$1"/task/*; do
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    name=${stat#*(}; name=${name%)*}
    read -r -a f <<<"${stat##*) }"
    printf '%s\t%s\t%s\t%s\n' "${t##*/}" "$name" "${f[11]}" "${f[12]}"
  done >"$2"
}
proc_cpu() {  # proc_cpu <pid>: utime+stime of the whole process (exited threads included)
  local stat
  stat=$(cat "/proc/$1/stat")
  read -r -a f <<<"${stat##*) }"
  echo $((f[11] + f[12]))
}
# The machine is shared: the CPU of everything on it (/proc/stat) minus this
# run's own (the nodes, the broker, and the children this shell reaped:
# clients, kcat, curl, surge-cli) is other work, which competes with the
# phase for the same cores.
children_ticks() {  # CPU of this shell's reaped children, clock ticks (times runs in this shell)
  times >"$WORK/times.txt"
  tail -n1 "$WORK/times.txt" | awk -v hz="$(getconf CLK_TCK)" '
    function sec(x, a) { split(x, a, "m"); sub("s", "", a[2]); return a[1] * 60 + a[2] }
    { printf "%d\n", (sec($1) + sec($2)) * hz }'
}
cpu_mark() {  # cpu_mark <n>: "<wall s> <machine busy ticks> <this run's ticks>"
  local f i ours
  read -r -a f </proc/stat
  ours=$(children_ticks)
  for ((i = 1; i <= $1; i++)); do ours=$((ours + $(proc_cpu "${NODE_PID[$i]}"))); done
  [[ -n "$BROKER_PID" ]] && ours=$((ours + $(proc_cpu "$BROKER_PID")))
  echo "$(now) $((f[1] + f[2] + f[3] + f[6] + f[7] + f[8])) $ours"
}
other_pct() {  # other_pct "<mark a>" "<mark b>": other work between them, % of one core
  $PY -c 'import sys; a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
print(round(max(0.0, (b[1] - a[1]) - (b[2] - a[2])) / float(sys.argv[3]) / (b[0] - a[0]) * 100, 1))' "$1" "$2" "$(getconf CLK_TCK)"
}
# quiet_gate <n> <phase>: waits (at most QUIET_WAIT s) until other work used
# less than QUIET_PCT% of a core over 3 s; writes what it saw.
quiet_gate() {
  local start a b pct waited
  start=$(now)
  while :; do
    a=$(cpu_mark "$1")
    sleep 3
    b=$(cpu_mark "$1")
    pct=$(other_pct "$a" "$b")
    waited=$($PY -c "print(round($(now) - $start, 1))")
    if $PY -c "import sys; sys.exit(0 if $pct < $QUIET_PCT or $waited >= $QUIET_WAIT else 1)"; then break; fi
  done
  printf '{"other_pct": %s, "waited_s": %s, "quiet_pct": %s}\n' "$pct" "$waited" "$QUIET_PCT" >"$RESULTS/$2.gate.json"
  log "$2: other work on the machine $pct% of a core (waited $waited s for < $QUIET_PCT%)"
}
snapshot() {  # snapshot <n> <prefix>: per-thread and whole-process CPU of every node
  local i
  for ((i = 1; i <= $1; i++)); do
    thread_cpu "${NODE_PID[$i]}" "$2.n$i.tsv"
    proc_cpu "${NODE_PID[$i]}" >"$2.n$i.proc"
  done
}
decisions() {  # decisions <files...>: unique decision events seen so far
  cat "$@" 2>/dev/null |
    grep -oE 'surge-event-type=(order_confirmed|order_cancelled|coupon_issued|coupon_rejected),surge-event-id=[^,]+' |
    sort -u | wc -l
}
accepted_of() {  # accepted_of <surge-bench json>
  $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])' "$1" 2>/dev/null || echo 0
}

# idle <phase> <n>: CPU of the idle cluster over IDLE_SECONDS, by thread.
idle() {
  local name="$1-idle" t0 t1
  wait_quiet "$2"
  log "$name: ${IDLE_SECONDS} s"
  snapshot "$2" "$RESULTS/$name.before"
  t0=$(now)
  sleep "$IDLE_SECONDS"
  t1=$(now)
  snapshot "$2" "$RESULTS/$name.after"
  printf '{"phase": "%s", "kind": "idle", "nodes": %d, "seconds": %s, "clk_tck": %d}\n' "$1" "$2" \
    "$($PY -c "print(round($t1 - $t0, 3))")" "$(getconf CLK_TCK)" >"$RESULTS/$name.json"
}

# measure <phase> <n> <scenario> [surge-bench flags]: CLIENTS surge-bench
# processes round-robin over the n nodes; the nodes' CPU from before they
# start until every command is decided (or no decision came for 3 s) and the
# cluster is quiet; the decisions as they reach Kafka.
measure() {
  local phase=$1 n=$2 scen=$3 name c i t0 tload t1 kc=() pids=() total=0 seen last=-1 still=0 mark0 mark1
  shift 3
  name="$phase-$scen"
  log "$name ($n nodes, $CLIENTS clients, concurrency $CONCURRENCY)"
  wait_quiet "$n"
  for topic in surge.orders surge.coupons; do
    kcat -b "$BOOT" -C -t "$topic" -o end -u -q -f '%T %h\n' >"$WORK/$name.$topic.kcat" 2>>"$WORK/kcat.err" &
    kc+=($!)
    STARTED+=("$!")
  done
  local pending0 dlt0
  pending0=$(curl -s --max-time 2 "http://${MADDR[1]}/metrics" | awk '$1 == "surge_orders{status=\"PENDING\"}" {print $2+0}')
  dlt0=$(metrics_sum "$n" '^surge_projection_dead_lettered_total')
  sleep 2  # kcat has resolved the end offsets of every partition
  snapshot "$n" "$RESULTS/$name.before"
  mark0=$(cpu_mark "$n")
  t0=$(now)
  for ((c = 0; c < CLIENTS; c++)); do
    i=$((c % n + 1))
    "$BENCH" --target="${ADDR[$i]}" --scenario="$scen" --run_id="$name-c$c-$(date +%s)" \
      --concurrency=$((CONCURRENCY / CLIENTS)) --warmup=0s --settle=false --setup_wait \
      --json="$RESULTS/$name.c$c.json" "$@" >"$RESULTS/$name.c$c.txt" 2>&1 &
    pids+=($!)
    STARTED+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || echo "run.sh: a surge-bench of $name failed (see $RESULTS/$name.c*.txt)" >&2; forget "$p"; done
  tload=$(now)
  for ((c = 0; c < CLIENTS; c++)); do total=$((total + $(accepted_of "$RESULTS/$name.c$c.json"))); done
  for _ in $(seq 1 180); do  # at most 90 s
    seen=$(decisions "$WORK/$name".*.kcat)
    [[ $seen -ge $total ]] && break
    if [[ $seen -eq $last ]]; then still=$((still + 1)); [[ $still -ge 6 ]] && break; else still=0; fi
    last=$seen
    sleep 0.5
  done
  wait_quiet "$n"
  t1=$(now)
  snapshot "$n" "$RESULTS/$name.after"
  for p in "${kc[@]}"; do stop_pid "$p"; done
  mark1=$(cpu_mark "$n")
  # Only the decision events, with their Kafka timestamps (ms).
  cat "$WORK/$name".*.kcat |
    grep -E 'surge-event-type=(order_confirmed|order_cancelled|coupon_issued|coupon_rejected),' |
    sed -E 's/^([0-9]+) surge-event-type=([a-z_]+),surge-event-id=([^,]+).*/\1\t\2\t\3/' \
      >"$WORK/$name.decisions.tsv" || true
  $PY "$HELPER" decisions-summary "$WORK/$name.decisions.tsv" >"$RESULTS/$name.decided.json"
  local pending dlt
  pending=$(curl -s --max-time 2 "http://${MADDR[1]}/metrics" | awk '$1 == "surge_orders{status=\"PENDING\"}" {print $2+0}')
  dlt=$(metrics_sum "$n" '^surge_projection_dead_lettered_total')
  printf '{"phase": "%s", "scenario": "%s", "kind": "load", "nodes": %d, "clients": %d, "concurrency": %d, "t0": %s, "t_load_end": %s, "t1": %s, "clk_tck": %d, "accepted": %d, "decisions_seen": %d, "pending_orders_before": %s, "pending_orders_after": %s, "dead_lettered_before": %d, "dead_lettered_total": %d, "other_pct": %s}\n' \
    "$phase" "$scen" "$n" "$CLIENTS" "$CONCURRENCY" "$t0" "$tload" "$t1" "$(getconf CLK_TCK)" "$total" \
    "$(cut -f3 "$WORK/$name.decisions.tsv" | sort -u | wc -l)" "${pending0:-null}" "${pending:-null}" "$dlt0" "$dlt" \
    "$(other_pct "$mark0" "$mark1")" >"$RESULTS/$name.json"
  log "$name: accepted $total, decided $(cut -f3 "$WORK/$name.decisions.tsv" | sort -u | wc -l), pending orders ${pending:-?}, dead letters $dlt, other work $(other_pct "$mark0" "$mark1")% of a core"
}

printf '{"commit": "%s", "dirty": %s, "date": "%s", "nproc": %d, "load_start": %s, "partitions": %d, "session_timeout_ms": %d, "clients": %d, "concurrency": %d, "duration": "%s", "flash_requests_per_client": %d, "flash_coupons": %d, "flash_users": %d, "light_rate": %d, "phases": "%s", "history": "%s"}\n' \
  "$(git -C "$ROOT" rev-parse --short HEAD)" \
  "$(git -C "$ROOT" diff --quiet HEAD -- cluster server kafka projections eventstore domain clients 2>/dev/null && echo false || echo true)" \
  "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$PARTITIONS" "$SESSION_MS" \
  "$CLIENTS" "$CONCURRENCY" "$DURATION" "$FLASH_REQUESTS" "$FLASH_COUPONS" "$FLASH_USERS" "$LIGHT_RATE" \
  "$PHASES" "$HISTORY" \
  >"$RESULTS/run.json"

# ------------------------------------------------ throughput and CPU ----
for spec in "single 1" "1node 1" "3node 3" "3node-kafka 3 --ack=kafka"; do
  read -r phase n extra <<<"$spec"
  want "$phase" || continue
  if [[ $phase == single ]]; then
    log "$phase: starting one surge-server without --cluster"
    start_single "$phase"
  else
    log "$phase: starting $n node(s) ${extra:-}"
    # shellcheck disable=SC2086
    start_cluster "$phase" "$n" $extra
  fi
  quiet_gate "$n" "$phase"
  echo "$(cut -d' ' -f1 /proc/loadavg)" >"$RESULTS/$phase.load"
  idle "$phase" "$n"
  measure "$phase" "$n" orders --duration="$DURATION"
  if [[ "$phase" != 3node-kafka ]]; then
    measure "$phase" "$n" flash-sale --requests="$FLASH_REQUESTS" --coupons="$FLASH_COUPONS" \
      --users="$FLASH_USERS"
  fi
  stop_cluster "$phase" "$n"
done

# ------------------------------------------------------------ rebalance ----
run_rebalance() {
phase=rebalance
log "$phase: 3 nodes, SIGKILL n3 under light load, $REBALANCE_REPEATS times"
REB_FLAGS=()
if [[ $REBALANCE_DEBUG == 1 ]]; then
  # librdkafka's consumer-group debug on every consumer, timestamped on
  # stderr (the node's log): when each survivor's group heard of the
  # rebalance (a heartbeat answered "rebalance in progress").
  printf 'consumer.debug=cgrp\n' >"$WORK/cgrp-debug.properties"
  REB_FLAGS=(--kafka_config_file="$WORK/cgrp-debug.properties")
fi
start_cluster "$phase" 3 "${REB_FLAGS[@]}"
# Campaigns on every partition: their keys' partitions as Kafka placed them.
STAMP=$(date +%s)
for j in $(seq 0 23); do
  "$CLI" --addr "${ADDR[1]}" coupon create "RB$STAMP-$j" --quantity 1000000 >/dev/null
done
for _ in $(seq 1 100); do
  kcat -b "$BOOT" -C -t surge.coupons -o beginning -e -q -f '%p %k\n' 2>/dev/null | grep " RB$STAMP-" |
    sort -u >"$WORK/campaigns.txt" || true
  [[ $(wc -l <"$WORK/campaigns.txt") -ge 24 ]] && break
  sleep 0.1
done
LIGHT=()
for i in 1 2; do
  "$BENCH" --target="${ADDR[$i]}" --scenario=orders --run_id="light-$i-$STAMP" --rate="$LIGHT_RATE" \
    --concurrency=16 --duration=600s --warmup=0s --settle=false >"$WORK/light-$i.txt" 2>&1 &
  LIGHT+=($!)
  STARTED+=("$!")
done
sleep 3
: >"$RESULTS/rebalance.tsv"
: >"$RESULTS/rebalance-settle.tsv"
TRESTARTED=""
for r in $(seq 1 "$REBALANCE_REPEATS"); do
  # Every node deciding again (after the cluster's start, or n3's rejoin)
  # before the next kill.
  read -r SETTLE WORST < <(wait_decided 3 90)
  WORST=$($PY -c "print(max($WORST, $DELAY_WORST))")
  printf '%d\t%s\t%s\t%s\t%s\n' "$r" "${TRESTARTED:--}" "$(now)" "$SETTLE" "$WORST" >>"$RESULTS/rebalance-settle.tsv"
  log "$phase $r: every node deciding (oldest undecided < 1 s) after $SETTLE s; the largest wait seen was $WORST s"
  describe 1 "$WORK/before-$r.json"
  cp "$WORK/before-$r.json" "$RESULTS/rebalance-$r-before.json"
  OWNED=$($PY "$HELPER" owned "$WORK/before-$r.json" n3)
  P=$($PY "$HELPER" owned "$WORK/before-$r.json" n3 | awk '$1 == "coupons" {print $2; exit}')
  CODE=$(awk -v p="$P" '$1 == p {print $2; exit}' "$WORK/campaigns.txt")
  if [[ -z "$P" || -z "$CODE" ]]; then
    echo "run.sh: n3 owns no coupons partition with a campaign (owned: $OWNED)" >&2
    exit 1
  fi
  RID="rb-$STAMP-$r"
  log "$phase $r: n3 owns $(echo "$OWNED" | wc -l) partitions; request $RID for $CODE (coupons/$P)"
  T0=$(now)
  kill -9 "${NODE_PID[3]}"
  wait "${NODE_PID[3]}" 2>/dev/null || true
  forget "${NODE_PID[3]}"
  TK=$(now)
  # Admission may push back (RESOURCE_EXHAUSTED) while n3's partitions are
  # not decided: ask again, 0.5 s apart, for at most 60 s.
  for try in $(seq 1 120); do
    "$CLI" --addr "${ADDR[1]}" coupon request "$CODE" --user "rbu-$r" --request-id "$RID" \
      >/dev/null 2>"$WORK/request-$r.err" && break
    [[ $try -lt 120 ]] || { echo "run.sh: coupon request $RID refused for 60 s:" >&2; cat "$WORK/request-$r.err" >&2; exit 1; }
    sleep 0.5
  done
  TA=$(now)
  echo "$try" >"$WORK/request-$r.tries"
  # --wait is at most 30 s per call: ask again while it is not decided (<= 90 s).
  ( for _ in 1 2 3; do
      "$CLI" --addr "${ADDR[1]}" --json coupon get "$RID" --wait 30000 >"$WORK/get-$r.json" 2>&1 || true
      grep -qE '"status":"COUPON_REQUEST_STATUS_(ISSUED|REJECTED)"' "$WORK/get-$r.json" && break
    done
    now >"$WORK/get-$r.t" ) &
  GET=$!
  STARTED+=("$GET")
  TOWNED=""
  declare -A TD=()
  for _ in $(seq 1 600); do  # at most about 60 s
    if describe 1 "$WORK/after-$r.json"; then
      for d in $($PY "$HELPER" moved-deciders "$WORK/after-$r.json" n3 "$OWNED"); do
        [[ -n "${TD[$d]:-}" ]] || TD[$d]=$(now)
      done
      if $PY "$HELPER" moved "$WORK/after-$r.json" n3 "$OWNED"; then
        TOWNED=$(now)
        break
      fi
    fi
    sleep 0.1
  done
  wait "$GET" || true
  forget "$GET"
  cp "$WORK/after-$r.json" "$RESULTS/rebalance-$r-after.json"
  STATUS=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1])).get("status", "?"))' "$WORK/get-$r.json" 2>/dev/null || echo "?")
  TDEC=$(cat "$WORK/get-$r.t")
  printf '%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$T0" "$TK" "$TA" "${TOWNED:-nan}" "$TDEC" "$STATUS" "$P" \
    "$(echo "$OWNED" | tr '\n' ';')" "${TD[stock]:-nan}" "${TD[order-saga]:-nan}" "${TD[coupons]:-nan}" >>"$RESULTS/rebalance.tsv"
  unset TD
  log "$phase $r: owned by survivors after $($PY -c "print(round(float('${TOWNED:-nan}') - $T0, 2))") s, request $STATUS after $($PY -c "print(round($TDEC - $T0, 2))") s"
  # n3 again, on its data dir, and a settled cluster before the next kill.
  now >"$WORK/restart-$r.t"
  TRESTARTED=$(cat "$WORK/restart-$r.t")
  TRACK_DELAY=1
  DELAY_WORST=0
  start_node "$phase" 3 "${REB_FLAGS[@]}"
  wait_owned 3 90
  TRACK_DELAY=0
done
# n3's last rejoin, settled too (its figures go with the others).
read -r SETTLE WORST < <(wait_decided 3 90)
WORST=$($PY -c "print(max($WORST, $DELAY_WORST))")
printf '%d\t%s\t%s\t%s\t%s\n' "$((REBALANCE_REPEATS + 1))" "$TRESTARTED" "$(now)" "$SETTLE" "$WORST" >>"$RESULTS/rebalance-settle.tsv"
for p in "${LIGHT[@]}"; do stop_pid "$p"; done
grep -hE 'gained|lost|restored' "$WORK/$phase"/n[12].log | tail -60 >"$RESULTS/rebalance-survivors.log" || true
stop_cluster "$phase" 3
# Each failover split by the survivors' log timestamps: detection (kill ->
# the first heartbeat of a survivor's decider group answered "rebalance in
# progress"), rebalance (-> the assignment reached the survivor: its
# "restored ... in X s" line minus X) and restore (X).
for r in $(seq 1 "$REBALANCE_REPEATS"); do
  T0=$(awk -v r="$r" '$1 == r {print $2}' "$RESULTS/rebalance.tsv")
  TR=$(cat "$WORK/restart-$r.t" 2>/dev/null || echo inf)
  $PY "$HELPER" failover-split "$r" "$T0" "$TR" "$RESULTS/rebalance-$r-before.json" n3 \
    "$WORK/$phase/n1.log" "$WORK/$phase/n2.log"
done >"$RESULTS/rebalance-split.tsv"
# n3's rejoins: restart -> every node deciding again, and which survivors'
# deciders lost their whole assignment on the way.
$PY "$HELPER" rejoin-summary "$RESULTS/rebalance-settle.tsv" "$WORK/$phase/n1.log" "$WORK/$phase/n2.log" \
  >"$RESULTS/rebalance-rejoin.tsv"
# The survivors' lines the split used, for checking by hand.
for i in 1 2; do
  grep -E 'restored surge\.|gained surge\.|lost surge\.|[Rr]ebalance in progress|partition\(s\) lost' "$WORK/$phase/n$i.log" |
    grep -E 'surge-decider-|decider|restored|gained|lost' | grep -vE '\|COMMIT(FAIL)?\|' | head -1000 \
    >"$RESULTS/rebalance-split-n$i.log" || true
done
}
if want rebalance; then run_rebalance; fi

# -------------------------------------------------------------- restore ----
if want restore; then
  log "restore: $RESTORE_KEYS keys, $RESTORE_REPEATS restores each"
  timeout 600 "$RESTORE" --keys="$RESTORE_KEYS" --partitions="$PARTITIONS" --repeats="$RESTORE_REPEATS" \
    --json="$RESULTS/restore.json" 2>&1 | grep -v '^%' | tee "$RESULTS/restore.txt" ||
    log "restore: restore-bench failed (see $RESULTS/restore.txt)"
fi
if want history; then
  log "history: restore after ${HISTORY}x the history behind the same state, $HISTORY_REPEATS takeovers of each kind"
  timeout 900 "$RESTORE" --history="$HISTORY" --history_repeats="$HISTORY_REPEATS" \
    --json="$RESULTS/history.json" 2>&1 | grep -v '^%' | tee "$RESULTS/history.txt" ||
    log "history: restore-bench failed (see $RESULTS/history.txt)"
fi

echo "$(cut -d' ' -f1 /proc/loadavg)" >"$RESULTS/load-end.txt"
# ---------------------------------------------------------------- report ----
$PY "$HELPER" issue20 --results "$RESULTS" --out "$RESULTS/issue20.md"
log "wrote $RESULTS/issue20.md"
if want 1node && want 3node && want 3node-kafka && want rebalance && want restore; then
  $PY "$HELPER" report --results "$RESULTS" --out "$BENCHMARKS_OUT"
  log "wrote $BENCHMARKS_OUT"
fi
