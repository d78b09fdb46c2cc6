#!/usr/bin/env bash
# Admission under bursts and overload (issue 21's "Measured"), on this
# machine, with the server's DEFAULT admission flags (the 3 s budget and the
# hard cap), for a single node and for a 1-node cluster:
#   burst      a fresh node: 5,000 orders in one burst (open loop at
#              BURST_RATE/s, up to 4,096 in flight), then at once 10,000
#              coupon requests for a campaign of 500: accepted, refused, and
#              the drain time (last accept to last decision)
#   closed     orders, closed loop (CONCURRENCY in flight) for DURATION: the
#              decided rate R the curve is scaled to
#   curve      orders, open loop at CURVE_FACTORS x R for DURATION each:
#              accepted, refused, decided and settle p50/p99, next to the
#              budget
# Modes (MODES, a space-separated subset, run in this order):
#   single     surge-server with its embedded broker (the README's first command)
#   cluster    surge-kafka-dev --brokers=1 --partitions=6 and one surge-server
#              --cluster with the README's cluster flags
# Writes the raw surge-bench JSON to bench/results/admission/ (RESULTS) and
# the report to BENCHMARKS-admission.md (BENCHMARKS_OUT). Builds nothing:
#
#   scripts/build.sh --target surge-server surge-kafka-dev surge-bench
#   bench/admission.sh
#   MODES=cluster DURATION=5s bench/admission.sh
#
# The load generator shares the machine's cores with the server: at 3x the
# decided rate it competes for them, which is part of what overload means
# here. Everything runs on loopback with kernel-chosen ports, is bounded in
# time (about 4 minutes per mode) and stops what it started, by PID, on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RESULTS=${RESULTS:-$ROOT/bench/results/admission}
BENCHMARKS_OUT=${BENCHMARKS_OUT:-$ROOT/BENCHMARKS-admission.md}
MODES=${MODES:-single cluster}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-64}
BURST_RATE=${BURST_RATE:-20000}
CURVE_FACTORS=${CURVE_FACTORS:-0.5 1 1.5 2 3}
BUDGET_MS=3000  # the server's default --max_decision_delay_ms (server/main.cc)

find_bin() { find "$BUILD_DIR" -type f -name "$1" -perm -u+x 2>/dev/null | head -n1; }
SERVER=${SURGE_SERVER:-$(find_bin surge-server)}
KAFKA_DEV=${KAFKA_DEV:-$(find_bin surge-kafka-dev)}
BENCH=${SURGE_BENCH:-$(find_bin surge-bench)}
for b in SERVER KAFKA_DEV BENCH; do
  [[ -n "${!b}" ]] || { echo "admission.sh: $b not found under $BUILD_DIR (build it first)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/surge-admission.XXXXXX)
STARTED=()
cleanup() {
  local rc=$? p
  for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${STARTED[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then echo "admission.sh: failed (exit $rc); logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }
wait_file() {  # wait_file <file> <pid>: until it has content (30 s), or the pid died
  for _ in $(seq 1 3000); do
    [[ -s "$1" ]] && return 0
    kill -0 "$2" 2>/dev/null || { echo "admission.sh: process $2 died before writing $1" >&2; return 1; }
    sleep 0.01
  done
  echo "admission.sh: $1 not written in 30 s" >&2
  return 1
}

start() {  # start <mode>: a fresh broker (cluster) and node; sets ADDR
  local mode=$1 dir=$WORK/$1 flags=()
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ $mode == cluster ]]; then
    "$KAFKA_DEV" --brokers=1 --partitions=6 --bootstrap_file="$dir/kafka.txt" >"$dir/kafka.log" 2>&1 &
    STARTED+=($!)
    wait_file "$dir/kafka.txt" $!
    flags=(--cluster --kafka_brokers="$(tr -d '[:space:]' <"$dir/kafka.txt")" --kafka_partitions=6
      --kafka_fetch_wait_ms=1 --cluster_session_timeout_ms=6000)
  fi
  "$SERVER" "${flags[@]}" --node_id=n1 --data_dir="$dir/n1" --grpc_addr=127.0.0.1:0 \
    --port_file="$dir/port" --metrics_addr=127.0.0.1:0 --metrics_port_file="$dir/mport" \
    >"$dir/n1.log" 2>&1 &
  STARTED+=($!)
  wait_file "$dir/port" $!
  ADDR="127.0.0.1:$(tr -d '[:space:]' <"$dir/port")"
}
stop_all() {
  local p
  for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${STARTED[@]}"; do wait "$p" 2>/dev/null || true; done
  STARTED=()
}
bench() {  # bench <name> [surge-bench flags]: JSON in RESULTS/<name>.json
  local name=$1
  shift
  "$BENCH" --target="$ADDR" --warmup=0s --run_id="$name-$(date +%s%N)" --json="$RESULTS/$name.json" \
    "$@" >"$RESULTS/$name.txt" 2>&1 || { echo "admission.sh: surge-bench $name failed:" >&2; tail -5 "$RESULTS/$name.txt" >&2; return 1; }
}

mkdir -p "$RESULTS"
for mode in $MODES; do
  rm -f "$RESULTS/$mode"-*
  log "$mode: fresh node, order burst then coupon burst"
  start "$mode"
  bench "$mode-burst-orders" --scenario=orders --rate="$BURST_RATE" --requests=5000 --concurrency=4096
  bench "$mode-burst-coupons" --scenario=flash-sale --rate="$BURST_RATE" --requests=10000 \
    --concurrency=4096 --coupons=500 --users=50000
  log "$mode: closed loop for the decided rate"
  bench "$mode-closed" --scenario=orders --concurrency="$CONCURRENCY" --duration="$DURATION"
  R=$(/usr/bin/python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['decided_per_second']))" \
    "$RESULTS/$mode-closed.json")
  echo "$R" >"$RESULTS/$mode-rate.txt"
  for f in $CURVE_FACTORS; do
    rate=$(/usr/bin/python3 -c "print(max(1, int($R * $f)))")
    log "$mode: open loop at ${f}x = $rate orders/s"
    bench "$mode-curve-$f" --scenario=orders --rate="$rate" --concurrency=4096 --duration="$DURATION"
  done
  stop_all
done

/usr/bin/python3 - "$RESULTS" "$BENCHMARKS_OUT" "$BUDGET_MS" "$(git -C "$ROOT" rev-parse --short HEAD)" \
  "$MODES" "$CURVE_FACTORS" "$DURATION" <<'EOF'
import json, os, sys, time
results, out, budget_ms, commit, modes, factors, duration = sys.argv[1:8]
budget_ms = float(budget_ms)
def load(name):
    p = os.path.join(results, name + ".json")
    return json.load(open(p)) if os.path.exists(p) else None
def refused(r):
    return r["errors"].get("RESOURCE_EXHAUSTED", 0)
def others(r):
    return sum(v for k, v in r["errors"].items() if k != "RESOURCE_EXHAUSTED")
def ms(us):
    return f"{us / 1000:.1f}"
label = {"single": "single node (embedded broker)", "cluster": "1-node cluster (surge-kafka-dev)"}
L = [f"# Admission: bursts and overload\n",
     f"Generated by `bench/admission.sh` at {commit} on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
     f"load average at the end {os.getloadavg()[0]:.2f}, with the server's default admission: a budget of "
     f"{budget_ms / 1000:g} s (`--max_decision_delay_ms`) against the measured decision rate, and the hard "
     "cap of 100,000 undecided events. The load generator (`surge-bench`) runs on the same 2 cores as the "
     "server. Raw figures in `bench/results/admission/`.\n",
     "## Bursts into a fresh node\n",
     f"5,000 orders in one burst (open loop at {int(load(modes.split()[0] + '-burst-orders')['rate']) if load(modes.split()[0] + '-burst-orders') else '?'}/s, "
     "up to 4,096 in flight) into a node that has just started, then at once 10,000 coupon requests for a "
     "campaign of 500. *Drain*: from the last accepted call to the last decision.\n",
     "| deployment | burst | accepted | refused | other errors | decided | drain | settle p50 | settle p99 | invariants |",
     "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
for mode in modes.split():
    for kind, what in (("orders", "5,000 orders"), ("coupons", "10,000 coupon requests, 500 coupons")):
        r = load(f"{mode}-burst-{kind}")
        if not r:
            continue
        L.append(f"| {label[mode]} | {what} | {r['accepted']:,} | {refused(r):,} | {others(r):,} | "
                 f"{r.get('decided', 0):,} | {r.get('drain_ms', 0) / 1000:.2f} s | "
                 f"{ms(r['settle_latency']['p50_us'])} ms | {ms(r['settle_latency']['p99_us'])} ms | "
                 f"{'ok' if r.get('check_ok') else 'FAILED: ' + r.get('settle_error', '')} {r.get('check', '')} |")
closed_concurrency = next((load(f"{m}-closed")["concurrency"] for m in modes.split()
                           if load(f"{m}-closed")), "?")
L += ["", "## Offered load vs accepted, refused and settle latency\n",
      f"Orders, open loop for {duration} at multiples of the decided rate R that the same node reached in a "
      f"closed loop ({closed_concurrency} calls in flight) just before. *Within budget*: the settle p99 of what was accepted "
      f"is at most the {budget_ms / 1000:g} s budget.\n",
      "| deployment | offered (x R) | offered/s | accepted/s | refused/s | decided/s | settle p50 | settle p99 | p99 within budget |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
for mode in modes.split():
    c = load(f"{mode}-closed")
    if not c:
        continue
    L.append(f"| {label[mode]} | closed loop: R | | {c['accepted_per_second']:,.0f} | "
             f"{refused(c) / c['seconds']:,.0f} | {c['decided_per_second']:,.0f} | "
             f"{ms(c['settle_latency']['p50_us'])} ms | {ms(c['settle_latency']['p99_us'])} ms | |")
    for f in factors.split():
        r = load(f"{mode}-curve-{f}")
        if not r:
            continue
        p99 = r["settle_latency"]["p99_us"] / 1000
        L.append(f"| {label[mode]} | {f} | {r['rate']:,.0f} | {r['accepted_per_second']:,.0f} | "
                 f"{refused(r) / r['seconds']:,.0f} | {r.get('decided_per_second', 0):,.0f} | "
                 f"{ms(r['settle_latency']['p50_us'])} ms | {p99:.1f} ms | "
                 f"{'yes' if p99 <= budget_ms else '**no**'} |")
L += ["", "accepted/s + refused/s below offered/s means the load generator, on the same cores, could not "
      "send more: at 3x it takes the cores the server decides with.\n"]
open(out, "w").write("\n".join(L) + "\n")
print(open(out).read())
EOF
