#!/usr/bin/env bash
# The PostgreSQL transactional-outbox peer (issue 13), run by bench/run.sh and
# runnable alone:
#   bench/pg_baseline.sh <results dir> [<tag>]
# Starts Debian's PostgreSQL (initdb in a temp dir, a free loopback port,
# fsync and synchronous_commit on), runs pgbench -c $CONCURRENCY over the two
# flows of bench/pg/ (orders for $DURATION, then $FLASH_REQUESTS coupon
# requests from $FLASH_USERS users for $FLASH_COUPONS coupons), checks the
# invariants of bench/pg/check.sql, and writes <tag>-orders.json,
# <tag>-coupons.json and <tag>-check.tsv (tag: pg unless given; bench/run.sh
# runs it before and after surge's scenarios). Stops the server it started by
# PID.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RESULTS=${1:?usage: pg_baseline.sh <results dir> [<tag>]}
TAG=${2:-pg}
CONCURRENCY=${CONCURRENCY:-64}
DURATION=${DURATION:-10s}
FLASH_REQUESTS=${FLASH_REQUESTS:-100000}
FLASH_COUPONS=${FLASH_COUPONS:-1000}
FLASH_USERS=${FLASH_USERS:-50000}
PG_SKUS=${PG_SKUS:-100}
PG_INITIAL_STOCK=${PG_INITIAL_STOCK:-1000000}
PY=/usr/bin/python3
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
if [[ -z "$PGBIN" || ! -x "$PGBIN/postgres" ]]; then
  echo "pg_baseline: PostgreSQL not installed (scripts/install-deps.sh --bench)" >&2; exit 1
fi
mkdir -p "$RESULTS"

PGWORK=$(mktemp -d /tmp/surge-bench-pg.XXXXXX)
PG_PID=""
cleanup() {
  if [[ -n "$PG_PID" ]]; then
    kill -INT "$PG_PID" 2>/dev/null || true  # fast shutdown
    wait "$PG_PID" 2>/dev/null || true
  fi
  rm -rf "$PGWORK"
}
trap cleanup EXIT

# PostgreSQL refuses to run as root: run it as the package's `postgres` user
# (setpriv execs, so $! is the postmaster itself).
AS=()
if [[ $(id -u) -eq 0 ]]; then
  chown postgres: "$PGWORK"
  AS=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
fi
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${AS[@]}" "$PGBIN/initdb" -D "$PGWORK/data" -U postgres -A trust -E UTF8 --locale=C \
  >"$PGWORK/initdb.log" 2>&1 || { cat "$PGWORK/initdb.log" >&2; exit 1; }
# Durable settings stated explicitly (they are PostgreSQL's defaults).
"${AS[@]}" "$PGBIN/postgres" -D "$PGWORK/data" -p "$PORT" -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories="$PGWORK" -c fsync=on -c synchronous_commit=on \
  -c full_page_writes=on -c max_connections=$((CONCURRENCY + 20)) \
  >"$PGWORK/postgres.log" 2>&1 &
PG_PID=$!
PGARGS=(-h 127.0.0.1 -p "$PORT" -U postgres)
for _ in $(seq 1 300); do
  "$PGBIN/pg_isready" "${PGARGS[@]}" -q && break
  kill -0 "$PG_PID" 2>/dev/null || { cat "$PGWORK/postgres.log" >&2; exit 1; }
  sleep 0.1
done
"$PGBIN/psql" "${PGARGS[@]}" -q -v ON_ERROR_STOP=1 -v initial_stock="$PG_INITIAL_STOCK" \
  -v skus="$PG_SKUS" -v coupons="$FLASH_COUPONS" -f "$ROOT/bench/pg/schema.sql" postgres
"$PGBIN/psql" "${PGARGS[@]}" -At -c "SHOW server_version" -c "SHOW synchronous_commit" \
  -c "SHOW fsync" postgres | paste -sd' ' >"$RESULTS/$TAG-settings.txt"

# The server's CPU (ticks): the postmaster, its live children (backends,
# checkpointer, WAL writer...) and its exited, reaped children (the backends
# of a finished pgbench: cutime + cstime of the postmaster).
pg_cpu() {
  local total=0 stat pid
  for pid in "$PG_PID" $(ps --ppid "$PG_PID" -o pid= 2>/dev/null); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<<"${stat##*) }"
    total=$((total + f[11] + f[12]))
    [[ "$pid" == "$PG_PID" ]] && total=$((total + f[13] + f[14]))
  done
  echo "$total"
}

# pgbench_run <name> <pgbench limit args...>: one flow, per-transaction log
# for the latency percentiles, and the server's CPU around it.
pgbench_run() {
  local name=$1 c0 c1; shift
  echo "== PostgreSQL outbox ($TAG): $name (pgbench -c $CONCURRENCY)" >&2
  c0=$(pg_cpu)
  "$PGBIN/pgbench" "${PGARGS[@]}" -n -M prepared -c "$CONCURRENCY" -j 2 "$@" \
    -D skus="$PG_SKUS" -D users="$FLASH_USERS" -f "$ROOT/bench/pg/$name.sql" \
    -l --log-prefix="$PGWORK/$name" postgres >"$RESULTS/$TAG-$name.txt" 2>"$RESULTS/$TAG-$name.err" || true
  # The backends exit with their clients; wait (at most 5 s) until they are reaped.
  for _ in $(seq 1 50); do
    [[ $(ps --ppid "$PG_PID" -o args= 2>/dev/null | grep -c 'postgres: postgres postgres') -eq 0 ]] && break
    sleep 0.1
  done
  c1=$(pg_cpu)
  cat "$RESULTS/$TAG-$name.txt"
  $PY - "$RESULTS/$TAG-$name.txt" "$PGWORK/$name" "$RESULTS/$TAG-$name.json" "$((c1 - c0))" "$(getconf CLK_TCK)" <<'PYEOF'
import glob, json, re, sys
text = open(sys.argv[1]).read()
def num(pattern):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None
lat = []
for path in glob.glob(sys.argv[2] + ".*"):
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                lat.append(int(parts[2]))  # microseconds
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] / 1000 if lat else None
json.dump({"tps": num(r"tps = ([0-9.]+) \(without initial connection time\)"),
           "processed": int(num(r"number of transactions actually processed: (\d+)") or 0),
           "failed": int(num(r"number of failed transactions: (\d+)") or 0),
           "latency_avg_ms": num(r"latency average = ([0-9.]+) ms"),
           "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": lat[-1] / 1000 if lat else None,
           "logged": len(lat), "server_cpu_ticks": int(sys.argv[4]),
           "clk_tck": int(sys.argv[5])}, open(sys.argv[3], "w"))
PYEOF
}
pgbench_run orders -T "${DURATION%s}"
PER_CLIENT=$(( (FLASH_REQUESTS + CONCURRENCY - 1) / CONCURRENCY ))
pgbench_run coupons -t "$PER_CLIENT"

processed() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["processed"])' "$1"; }
"$PGBIN/psql" "${PGARGS[@]}" -X -q -v ON_ERROR_STOP=1 -v orders_tx="$(processed "$RESULTS/$TAG-orders.json")" \
  -v coupon_tx="$(processed "$RESULTS/$TAG-coupons.json")" -f "$ROOT/bench/pg/check.sql" postgres \
  >"$RESULTS/$TAG-check.tsv"
cat "$RESULTS/$TAG-check.tsv"
