#!/usr/bin/python3
"""Helpers of bench/cluster/run.sh and the generator of BENCHMARKS-cluster.md.

  report.py cluster-ok DESCRIBE.json N      exit 0 when N live members own every partition
  report.py owned DESCRIBE.json NODE        "<decider> <partition>" lines NODE owns
  report.py moved DESCRIBE.json DEAD OWNED  exit 0 when every OWNED line is owned by another node
  report.py moved-deciders DESCRIBE.json DEAD OWNED  the deciders whose OWNED lines all moved
  report.py decisions-summary DECISIONS.tsv  count, first/last time and per-second counts
  report.py failover-split RUN T_KILL T_RESTART DESCRIBE.json DEAD LOG...
                                            one failover split by the survivors' log timestamps
  report.py rejoin-summary SETTLE.tsv LOG...  the killed node's rejoins, from the survivors' logs
  report.py report --results DIR --out FILE   (issue 12's report, + issue 20's section when its data is there)
  report.py issue20 --results DIR --out FILE  (issue 20's section alone)
"""
import argparse
import datetime
import glob
import json
import math
import os
import re
import statistics
import sys

DECIDERS = ("stock", "order-saga", "coupons")
ROLES = ("accept", "decide", "view", "relay", "kafka clients", "other")
GRPC_THREADS = ("grpcpp_sync_ser", "default-executo", "grpc_global_tim", "resolver-execut",
                "event_engine", "timer_manager", "nexting_thread")


# ------------------------------------------------------------ cluster state --
def owners(describe):
    out = {}
    for p in describe.get("partitions", []):
        out[(p["decider"], int(p.get("partition", 0)))] = p.get("owner_node_id", "")
    return out


def cmd_cluster_ok(path, n):
    d = json.load(open(path))
    alive = {m["node_id"] for m in d.get("members", []) if m.get("alive")}
    if len(alive) != n:
        return 1
    own = owners(d)
    parts = {p for (_, p) in own}
    if not parts:
        return 1
    for dec in DECIDERS:
        mine = set()
        for p in parts:
            o = own.get((dec, p), "")
            if o not in alive:
                return 1
            mine.add(o)
        if n <= len(parts) and mine != alive:
            return 1
    return 0


def cmd_owned(path, node):
    for (dec, p), o in sorted(owners(json.load(open(path))).items()):
        if o == node:
            print(dec, p)
    return 0


def cmd_moved_deciders(path, dead, owned):
    own = owners(json.load(open(path)))
    done = {}
    for line in owned.splitlines():
        if not line.strip():
            continue
        dec, p = line.split()
        o = own.get((dec, int(p)), "")
        done[dec] = done.get(dec, True) and bool(o) and o != dead
    for dec, ok in sorted(done.items()):
        if ok:
            print(dec)
    return 0


def cmd_moved(path, dead, owned):
    own = owners(json.load(open(path)))
    for line in owned.splitlines():
        if not line.strip():
            continue
        dec, p = line.split()
        o = own.get((dec, int(p)), "")
        if not o or o == dead:
            return 1
    return 0


# ------------------------------------------------------------------- report --
def role(name):
    # surge-p-*: a single node's projections (stock, order-saga, coupons),
    # which decide AND write the read models (a cluster's decide + view).
    if name.startswith("surge-d-") or name.startswith("surge-p-"):
        return "decide"
    if name == "surge-view":
        return "view"
    if name == "surge-relay":
        return "relay"
    if name in ("surge-append", "surge-ack") or name in GRPC_THREADS:
        return "accept"
    if name.startswith("rdk:"):
        return "kafka clients"
    return "other"


def read_threads(path):
    out = {}
    for line in open(path):
        tid, name, ut, st = line.rstrip("\n").split("\t")
        out[tid] = (name, int(ut) + int(st))
    return out


def cpu_by_role(results, name, nodes):
    """Ticks by role (summed over nodes), by thread name, and by decider thread."""
    roles = {r: 0 for r in ROLES}
    names = {}
    per_node = []
    for i in range(1, nodes + 1):
        before = read_threads(f"{results}/{name}.before.n{i}.tsv")
        after = read_threads(f"{results}/{name}.after.n{i}.tsv")
        p0 = int(open(f"{results}/{name}.before.n{i}.proc").read())
        p1 = int(open(f"{results}/{name}.after.n{i}.proc").read())
        live = 0
        node_roles = {r: 0 for r in ROLES}
        for tid, (tname, t1) in after.items():
            t0 = before.get(tid, (tname, 0))[1]
            d = max(0, t1 - t0)
            live += d
            r = role(tname)
            roles[r] += d
            node_roles[r] += d
            names[tname] = names.get(tname, 0) + d
        # CPU of threads that ended inside the window (gRPC's sync-server pool
        # grows and shrinks with the load): counted as accept.
        gone = max(0, (p1 - p0) - live)
        roles["accept"] += gone
        node_roles["accept"] += gone
        names["(exited threads)"] = names.get("(exited threads)", 0) + gone
        per_node.append(node_roles)
    return roles, names, per_node


def load_json(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def clients(results, name):
    out = []
    for path in sorted(glob.glob(f"{results}/{name}.c*.json")):
        j = load_json(path)
        if j:
            out.append(j)
    return out


def decisions_summary(path):
    """{decided, first_ms, last_ms, per_second} of a "<ts ms>\t<type>\t<event id>" file."""
    first = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 3:
            continue
        ts, _, eid = parts
        ts = int(ts)
        if eid not in first or ts < first[eid]:
            first[eid] = ts
    t = sorted(first.values())
    per_second = {}
    for x in t:
        k = (x - t[0]) // 1000
        per_second[k] = per_second.get(k, 0) + 1
    return {"decided": len(t), "first_ms": t[0] if t else 0, "last_ms": t[-1] if t else 0,
            "per_second": [per_second.get(i, 0) for i in range(max(per_second) + 1)] if t else []}


def decided(results, name):
    j = load_json(f"{results}/{name}.decided.json")
    if j is not None:
        span = (j["last_ms"] - j["first_ms"]) / 1000.0
        n = j["decided"]
        return n, (n / span if span > 0 else 0.0), span
    first = {}
    try:
        for line in open(f"{results}/{name}.decisions.tsv"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            ts, _, eid = parts
            ts = int(ts)
            if eid not in first or ts < first[eid]:
                first[eid] = ts
    except OSError:
        pass
    if len(first) < 2:
        return len(first), 0.0, 0.0
    t = sorted(first.values())
    span = (t[-1] - t[0]) / 1000.0
    return len(first), (len(first) / span if span > 0 else 0.0), span


def weighted(cl, key):
    tot = sum(c["accepted"] for c in cl)
    if tot == 0:
        return 0.0
    return sum(c["accept_latency"][key] * c["accepted"] for c in cl) / tot


def fmt(x, digits=1):
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "n/a"
    return f"{x:,.{digits}f}"


def ratio(a, b):
    return a / b if b else float("nan")


class Load:
    def __init__(self, results, phase, scen):
        self.name = f"{phase}-{scen}"
        self.meta = load_json(f"{results}/{self.name}.json") or {}
        self.ok = bool(self.meta)
        if not self.ok:
            return
        self.nodes = self.meta["nodes"]
        self.clients = clients(results, self.name)
        self.accepted = sum(c["accepted"] for c in self.clients)
        self.accepted_ps = sum(c["accepted_per_second"] for c in self.clients)
        self.errors = {}
        for c in self.clients:
            for k, v in c.get("errors", {}).items():
                self.errors[k] = self.errors.get(k, 0) + v
        self.decided, self.decided_ps, self.decided_span = decided(results, self.name)
        self.ticks, self.names, self.per_node = cpu_by_role(results, self.name, self.nodes)
        self.us_per_tick = 1e6 / self.meta["clk_tck"]
        self.window = self.meta["t1"] - self.meta["t0"]
        self.dec_ticks = {}
        for tname, t in self.names.items():
            if tname.startswith("surge-d-"):
                self.dec_ticks[tname] = t
        # Net of the idle background: minus the same cluster's idle CPU per
        # role over the window (a lower bound of the marginal cost: under load
        # some of the idle polling turns into useful fetches).
        ic = idle_cpu(results, phase)
        self.idle = ic[0] if ic else {r: 0.0 for r in ROLES}  # % of one core, all nodes
        self.net = {}
        for r in ROLES:
            idle_ticks = self.idle[r] / 100.0 * self.window * self.meta["clk_tck"]
            self.net[r] = max(0.0, self.ticks[r] - idle_ticks)

    def us(self, ticks):
        return ticks * self.us_per_tick / self.accepted if self.accepted else float("nan")

    def role_us(self, r):
        return self.us(self.ticks[r])

    def total_us(self):
        return self.us(sum(self.ticks.values()))

    def net_us(self, r):
        return self.us(self.net[r])

    def net_total_us(self):
        return self.us(sum(self.net.values()))

    def background_us_per_s_per_node(self):
        """Idle CPU of one node, µs per second."""
        return sum(self.idle.values()) / 100.0 * 1e6 / self.nodes


def idle_cpu(results, phase):
    meta = load_json(f"{results}/{phase}-idle.json")
    if not meta:
        return None
    roles = {r: 0 for r in ROLES}
    for i in range(1, meta["nodes"] + 1):
        b = read_threads(f"{results}/{phase}-idle.before.n{i}.tsv")
        a = read_threads(f"{results}/{phase}-idle.after.n{i}.tsv")
        for tid, (tname, t1) in a.items():
            roles[role(tname)] += max(0, t1 - b.get(tid, (tname, 0))[1])
    secs = meta["seconds"]
    us_tick = 1e6 / meta["clk_tck"]
    # percent of one core, summed over the nodes
    return {r: 100.0 * v * us_tick / 1e6 / secs for r, v in roles.items()}, meta["nodes"]


def fit(s1, s3):
    """sum(N) = p + N*q through (1, s1) and (3, s3), p, q >= 0."""
    q = (s3 - s1) / 2.0
    p = s1 - q
    if q < 0:
        return s3, 0.0
    if p < 0:
        return 0.0, s3 / 3.0
    return p, q


def capacity_rows(one, three, hot_partitions, net):
    """Per N: CPU bound and thread bounds (commands/s). net: per-command costs net of
    the idle background, which is then a fixed cost B per node; else gross costs, B = 0."""
    c = (lambda l, r: l.net_us(r)) if net else (lambda l, r: l.role_us(r))
    A = c(three, "accept")
    D = c(three, "decide")
    R = c(three, "relay")
    V_node = c(three, "view") / three.nodes
    pK, qK = fit(c(one, "kafka clients"), c(three, "kafka clients"))
    pO, qO = fit(c(one, "other"), c(three, "other"))
    B = three.background_us_per_s_per_node() if net else 0.0
    part = A + D + R + pK + pO
    repl = V_node + qK + qO
    append_us = three.us(three.names.get("surge-append", 0))
    dec_us = {k: three.us(v) for k, v in three.dec_ticks.items()}
    rows = []
    for n in (1, 2, 3, 4, 6, 12):
        cpu = max(0.0, 2e6 - B) / (part / n + repl)
        view_b = 1e6 / V_node if V_node > 0 else float("inf")
        owners_ = min(n, hot_partitions)
        dec_b = min((owners_ * 1e6 / u for u in dec_us.values() if u > 0), default=float("inf"))
        relay_b = n * 1e6 / R if R > 0 else float("inf")
        append_b = n * 1e6 / append_us if append_us > 0 else float("inf")
        burst = n * max(0.0, 2e6 - B) / (A + R) if A + R > 0 else float("inf")
        bounds = {"CPU": cpu, "view thread": view_b, "decider thread": dec_b, "relay": relay_b,
                  "appender": append_b}
        limit = min(bounds, key=bounds.get)
        rows.append((n, bounds, bounds[limit], limit, burst))
    params = dict(B=B, A=A, D=D, R=R, V_node=V_node, pK=pK, qK=qK, pO=pO, qO=qO, part=part,
                  repl=repl, append=append_us, dec=dec_us)
    return rows, params


def cmd_report(results, out):
    run = load_json(f"{results}/run.json") or {}
    L = {}
    for phase in ("1node", "3node", "3node-kafka"):
        for scen in ("orders", "flash-sale"):
            l = Load(results, phase, scen)
            if l.ok:
                L[(phase, scen)] = l
    md = []
    w = md.append
    w("# surge cluster benchmarks (issue 12, \"Measured\")")
    w("")
    w(f"Generated by `bench/cluster/run.sh` at {run.get('commit', '?')}"
      f"{' (dirty tree)' if run.get('dirty') else ''} on {run.get('date', '?')}: "
      f"{run.get('nproc', '?')} cores, 1-min load {run.get('load_start', '?')} at the start. "
      f"Every node, every client, kcat and the broker share these cores, and other engineers' "
      f"builds and tests ran on the same machine: **compare ratios from this one run, not "
      f"absolute figures across runs.**")
    w("")
    w(f"Setup: `surge-kafka-dev --brokers=1 --partitions={run.get('partitions', 6)}` (a fresh one per "
      f"phase), nodes with `--cluster --kafka_partitions={run.get('partitions', 6)} "
      f"--kafka_fetch_wait_ms=1 --cluster_session_timeout_ms={run.get('session_timeout_ms', 6000)}` "
      f"(README, Running a cluster), `--durability=sync` (the default), loopback, free ports. "
      f"Load: {run.get('clients', 3)} `surge-bench` processes, round-robin over the nodes, "
      f"{run.get('concurrency', 48)} calls in flight in all, `--settle=false --setup_wait "
      f"--warmup=0s`; orders: closed loop for {run.get('duration', '?')} each (100 SKUs, 1-3 "
      f"lines); flash sale: {run.get('flash_requests_per_client', '?')} coupon requests per "
      f"client, each client its own campaign of {run.get('flash_coupons', '?')} coupons, "
      f"{run.get('flash_users', '?')} users. The same clients and load drive the 1-node and the "
      f"3-node cluster.")
    w("")

    # ----------------------------------------------------------- throughput
    w("## Throughput, 1 node vs 3 nodes")
    w("")
    w("*accepted/s*: sum of the clients' accepted rates. *decided/s*: distinct decision events "
      "(`order_confirmed`/`order_cancelled`, `coupon_issued`/`coupon_rejected`) read live from "
      "Kafka, over the span from the first to the last one. *decided*: of the commands accepted.")
    w("")
    w("| cluster | scenario | accepted | accepted/s | decided | decided/s | errors | ratio accepted/s 3/1 | ratio decided/s 3/1 |")
    w("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for scen in ("orders", "flash-sale"):
        for phase in ("1node", "3node"):
            l = L.get((phase, scen))
            if not l:
                w(f"| {phase} | {scen} | (no data) | | | | | | |")
                continue
            r1 = r2 = ""
            if phase == "3node" and ("1node", scen) in L:
                o = L[("1node", scen)]
                r1 = f"{ratio(l.accepted_ps, o.accepted_ps):.2f}x"
                r2 = f"{ratio(l.decided_ps, o.decided_ps):.2f}x"
            errs = ", ".join(f"{k} {v}" for k, v in sorted(l.errors.items())) or "none"
            w(f"| {l.nodes} node{'s' if l.nodes > 1 else ''} | {scen} | {l.accepted:,} | "
              f"{fmt(l.accepted_ps)} | {l.decided:,} ({100.0 * l.decided / max(1, l.accepted):.1f}%) | "
              f"{fmt(l.decided_ps)} | {errs} | {r1} | {r2} |")
    w("")

    # ------------------------------------------------------------------ CPU
    w("## Server CPU per command by role")
    w("")
    w("µs of CPU per accepted command, **summed over the nodes**, from `/proc/<pid>/task/*/stat` "
      "(utime+stime) between the start of the clients and the moment every command was decided "
      "and the cluster was quiet (relay and changelog lag 0, log heads still for 1 s); the setup "
      "of each client (100 restocks or 2 campaigns) and the idle background of the window are "
      "included. Roles by thread name: **accept** = gRPC threads (`grpcpp_sync_ser`, "
      "`default-executor`, `grpc_global_timer`, `resolver-executor`, `event_engine`, "
      "`timer_manager`, `nexting_thread`) + `surge-append` (the event store appender) + "
      "`surge-ack` + threads that exited inside the window (gRPC's sync-server pool); "
      "**decide** = `surge-d-stock`, `surge-d-order-saga`, `surge-d-coupons`; **view** = "
      "`surge-view`; **relay** = `surge-relay`; **kafka clients** = librdkafka's own threads "
      "(`rdk:*`: the network I/O of every producer and consumer of every role, which their "
      "names cannot tell apart); **other** = RocksDB background, metrics, membership, main.")
    w("")
    head = "| role |"
    sep = "| --- |"
    cols = []
    for scen in ("orders", "flash-sale"):
        if ("1node", scen) in L and ("3node", scen) in L:
            cols.append(scen)
            head += f" {scen}: 1 node | {scen}: 3 nodes | 3/1 |"
            sep += " ---: | ---: | ---: |"
    def role_table(total, per_role):
        """Rows per role (and the total): 1 node, 3 nodes and their ratio per scenario."""
        w(head)
        w(sep)
        for r in ROLES + ("total",):
            line = f"| {r} |"
            for scen in cols:
                a, b = L[("1node", scen)], L[("3node", scen)]
                x = total(a) if r == "total" else per_role(a, r)
                y = total(b) if r == "total" else per_role(b, r)
                line += f" {fmt(x)} | {fmt(y)} | {ratio(y, x):.2f}x |"
            w(line)
        w("")

    role_table(lambda l: l.total_us(), lambda l, r: l.role_us(r))
    if cols:
        w("The same **net of the idle background** (minus each cluster's idle CPU per role, "
          "measured just before its load, times the window). The consumers poll the mock "
          "broker with a 1 ms fetch wait, so the idle background is large (table below) and, "
          "per command, grows with the number of nodes and shrinks with the throughput; net "
          "figures are a lower bound of the marginal cost, gross ones an upper bound. The "
          "capacity model uses the net ones plus the background as a fixed cost per node.")
        w("")
        role_table(lambda l: l.net_total_us(), lambda l, r: l.net_us(r))
        w("Per decider thread and the appender, µs per command (summed over nodes, gross):")
        w("")
        w("| thread |" + "".join(f" {s}: 1 node | {s}: 3 nodes |" for s in cols))
        w("| --- |" + " ---: | ---: |" * len(cols))
        tnames = sorted({t for s in cols for ph in ("1node", "3node")
                         for t in L[(ph, s)].names if t.startswith("surge-") or t == "(exited threads)"
                         or t in GRPC_THREADS})
        for t in tnames:
            line = f"| `{t}` |"
            for s in cols:
                for ph in ("1node", "3node"):
                    l = L[(ph, s)]
                    line += f" {fmt(l.us(l.names.get(t, 0)))} |"
            w(line)
        w("")
        w("Per node in the 3-node runs (µs per cluster command; a node accepts a third of the "
          "commands, decides the partitions it owns, and mirrors every decision into its view):")
        w("")
        w("| scenario | node |" + "".join(f" {r} |" for r in ROLES))
        w("| --- | --- |" + " ---: |" * len(ROLES))
        for s in cols:
            l = L[("3node", s)]
            for i, nr in enumerate(l.per_node):
                w(f"| {s} | n{i + 1} |" + "".join(f" {fmt(l.us(nr[r]))} |" for r in ROLES))
        w("")
    for phase in ("1node", "3node", "3node-kafka"):
        ic = idle_cpu(results, phase)
        if ic:
            roles, nodes = ic
            if phase == "1node":
                w("Idle background (the same cluster before its load, % of one core summed over "
                  "the nodes; consumers poll the mock broker with a 1 ms fetch wait):")
                w("")
                w("| cluster |" + "".join(f" {r} |" for r in ROLES) + " total |")
                w("| --- |" + " ---: |" * (len(ROLES) + 1))
            w(f"| {phase} ({nodes} node{'s' if nodes > 1 else ''}) |" +
              "".join(f" {fmt(roles[r])} |" for r in ROLES) + f" {fmt(sum(roles.values()))} |")
    w("")

    # ------------------------------------------------------------------ ack
    w("## `--ack=kafka` vs `--ack=log` (3 nodes, orders, closed loop)")
    w("")
    a, k = L.get(("3node", "orders")), L.get(("3node-kafka", "orders"))
    if a and k:
        w("Accept latency percentiles are the clients' own, averaged over the clients weighted "
          "by their accepted counts; max is the largest.")
        w("")
        w("| --ack | accepted/s | decided/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | CPU µs/command | errors |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        rows = []
        for label, l in (("log", a), ("kafka", k)):
            p = [weighted(l.clients, x) / 1000.0 for x in ("p50_us", "p90_us", "p99_us", "p999_us")]
            mx = max(c["accept_latency"]["max_us"] for c in l.clients) / 1000.0
            rows.append((l.accepted_ps, l.decided_ps, *p, mx, l.total_us()))
            errs = ", ".join(f"{x} {v}" for x, v in sorted(l.errors.items())) or "none"
            w(f"| {label} | {fmt(l.accepted_ps)} | {fmt(l.decided_ps)} | " +
              " | ".join(fmt(x, 2) for x in p) + f" | {fmt(mx, 2)} | {fmt(l.total_us())} | {errs} |")
        w("| **kafka/log** | " + " | ".join(f"**{ratio(y, x):.2f}x**" for x, y in zip(rows[0], rows[1]))
          + " | |")
    else:
        w("(no data)")
    w("")

    # ------------------------------------------------------------ rebalance
    w("## Rebalance time after a SIGKILL")
    w("")
    reb = []
    try:
        for line in open(f"{results}/rebalance.tsv"):
            f = line.rstrip("\n").split("\t")
            r, t0, tk, ta, towned, tdec, status, part, owned = f[:9]
            t0 = float(t0)
            owned_s = float(towned) - t0
            dec_s = float(tdec) - t0
            per = [float(x) - t0 for x in f[9:12]]
            status = status.replace("COUPON_REQUEST_STATUS_", "")
            reb.append((int(r), owned_s, dec_s, status, part, owned.count(";"), per))
    except OSError:
        pass
    w(f"3 nodes, session timeout **{run.get('session_timeout_ms', 6000)} ms**, light load "
      f"(orders, open loop, {run.get('light_rate', '?')}/s on each survivor). `kill -9` of n3, "
      "then: *owned* = until `surge-cli cluster --json` on n1 shows every (decider, partition) "
      "n3 owned before the kill owned by a survivor (polled every 0.1 s); *decided* = a coupon "
      "request for a campaign whose `surge.coupons` partition n3 owned (partition as Kafka "
      "placed the campaign's key), sent to n1 right after the kill, until `coupon get --wait` on "
      "n1 returns its decision. The rebalance time is the later of the two. n3 is restarted on "
      "its data dir and the cluster settles before the next kill.")
    w("")
    if reb:
        w("| run | partitions n3 owned | stock moved s | order-saga moved s | coupons moved s | all owned by survivors s | coupon request on coupons/p decided s | status | **rebalance s** |")
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
        totals = []
        for r, owned_s, dec_s, status, part, n_owned, per in reb:
            t = max(owned_s, dec_s)
            if status not in ("ISSUED", "REJECTED"):
                t = float("nan")
            totals.append(t)
            w(f"| {r} | {n_owned} | {fmt(per[0], 2)} | {fmt(per[1], 2)} | {fmt(per[2], 2)} | "
              f"{fmt(owned_s, 2)} | {fmt(dec_s, 2)} (p={part}) | {status} | **{fmt(t, 2)}** |")
        good = [t for t in totals if not math.isnan(t)]
        if good:
            w("")
            w(f"**Rebalance after SIGKILL: min {min(good):.2f} s, median {statistics.median(good):.2f} s, "
              f"max {max(good):.2f} s** (session timeout {run.get('session_timeout_ms', 6000) / 1000:.0f} s, "
              f"{len(good)} runs). TOOLCHAIN.md predicts about session timeout + (session timeout − "
              f"1 s) on the mock broker: the member is dropped after the session timeout, then the "
              f"broker waits session.timeout.ms − 1 s before it hands out the new assignment; the "
              f"restore of a few changelog records is milliseconds. On a real Kafka the second "
              f"term is the rebalance itself (sub-second to a few seconds), so the session timeout "
              f"(45 s by default) dominates. A run about 5 s longer than the others went "
              f"through one more of the mock's session.timeout.ms − 1 s waits (a second "
              f"rebalance round of that decider's group; the per-decider columns show which).")
    else:
        w("(no data)")
    w("")

    # -------------------------------------------------------------- restore
    w("## Restore time per 100k keys of decider state")
    w("")
    rj = load_json(f"{results}/restore.json")
    if rj and rj.get("runs"):
        w(f"`restore-bench` (bench/cluster/restore_bench.cc): an in-process mock broker, "
          f"`surge.coupons.changelog` with {rj['partitions']} partitions holding a chain of "
          f"`ChangelogBatch` records of {rj['rows_per_record']} coupon-shaped rows each "
          f"(`rm_coupon_requests` → a serialized `CouponRequest`, `rm_coupon_holdings` → an "
          f"8-byte count; keys spread evenly over the partitions), then a fresh "
          f"`cluster::Decider` for `surge.coupons` (its own consumer group) that is assigned "
          f"every partition: the figure is its own `restore_seconds_sum` (reading and applying "
          f"every record of every partition, the group join excluded). The mock broker keeps only "
          f"about 5 MiB per partition and drops older data silently, so each partition's "
          f"changelog is kept under 4.5 MiB (the run refuses more) and its low watermark is "
          f"checked to be 0. The decider runs with a 6000 ms session timeout: with 2000 ms it is never "
          f"assigned anything on the mock broker (its JoinGroup is never answered; the broker "
          f"holds a group's first join 3 s, longer than that session timeout), which is also "
          f"why `decider_handoff_test` (2000 ms) fails here.")
        w("")
        w("| keys | records | MiB per partition | restores | seconds min / median / max | **s per 100k keys** (median) | keys/s |")
        w("| ---: | ---: | ---: | ---: | --- | ---: | ---: |")
        for run_ in rj["runs"]:
            secs = [x["seconds"] for x in run_["restores"]]
            med = run_["median_seconds"]
            w(f"| {run_['keys']:,} | {run_['records']:,} | {run_['max_partition_mib']:.2f} | {len(secs)} | "
              f"{min(secs):.3f} / {med:.3f} / {max(secs):.3f} | **{run_['seconds_per_100k_keys']:.3f}** | "
              f"{fmt(run_['keys'] / med if med else float('nan'), 0)} |")
        w("")
        w("A gained partition is restored before its decider decides anything there, one "
          "partition after the other on the decider's thread: a node that gains k partitions of "
          "a decider pauses that decider for the sum of their restores. The changelog is a chain "
          "of every batch ever written, not a compacted snapshot: a restore reads all of it, so "
          "its time grows with the history, not only with the live keys (README, limits). "
          "Per key, the larger state restores faster: each partition's restore has a fixed "
          "part (watermark query, assign, first fetch: tens of ms on the mock, visible in the "
          "`restored ... in 0.0xx s` log lines) that the 100k run pays for fewer keys.")
    else:
        w("(no data)")
    w("")

    # --------------------------------------------------------------- model
    w("## Capacity model: N nodes on N machines")
    w("")
    w("This machine cannot show scaling in absolute numbers: the 3-node cluster runs on the "
      "same 2 cores as the 1-node one (plus the broker and the clients), so its throughput can "
      "only fall. What it can show is what each role costs per command and which costs are "
      "paid once per cluster and which once per node. The model takes those per-role costs "
      "and spreads them over N machines of 2 cores each.")
    w("")
    w("Assumptions:")
    w("- Kafka is not the bottleneck (a real cluster sized for the load; here a mock broker in "
      "one process), and the network between machines adds latency, not CPU.")
    w("- Clients spread commands evenly over the nodes, and keys (SKUs, order ids, campaign "
      "codes) spread evenly over the partitions; partitions >= nodes (6 here; for N > 6 the "
      "topics need more partitions), so every node owns about P/N partitions of every decider.")
    w("- **Accept** (gRPC + appender), **relay** and **decide** are paid once per command in the "
      "whole cluster (the accepting node, the owner of the key's partition): per node they "
      "shrink as 1/N.")
    w("- **View** is paid by **every node for every decision** (each node mirrors every "
      "changelog into its read models): per node it does not shrink with N. The per-node view "
      "cost is the 3-node run's view CPU divided by 3.")
    w("- The Kafka client threads and the rest (`rdk:*`, RocksDB background, metrics) cannot be "
      "split by role from thread names; their cost summed over nodes is fitted as p + N·q from "
      "the 1-node and 3-node runs (p: paid once per command, q: paid per node per command; "
      "both clamped at 0).")
    w("- A node's 2 cores are fully usable (no headroom kept: take 60-70% of the figures for "
      "an operating point), and the per-command costs measured here, on 2 contended cores, "
      "carry over (they are, if anything, inflated by the contention).")
    w("- Single threads bound it too: each node has ONE `surge-view` thread (applies every "
      "decision of the cluster), ONE thread per decider (decides its owned partitions), ONE "
      "relay and ONE appender. A decider's keys spread over min(N, partitions with keys) "
      "threads: for a flash sale on **one** campaign that is one partition, one thread on one "
      "node, whatever N.")
    w("")
    w("capacity(N) = min( (2,000,000 − B) / (part/N + repl) [CPU], 1e6 / view_node [view thread], "
      "min over deciders of min(N, P_keys)·1e6 / decider_us [decider threads], N·1e6 / relay_us, "
      "N·1e6 / append_us ), commands/s (B = 0 with gross costs), accepted = decided in a steady state. The 3-node "
      "costs are used because they include the cluster's cross-node work; they are also "
      "inflated by three servers sharing 2 cores (more context switches, each appender "
      "fsyncing smaller batches: compare the 1-node column), so the figures lean low. *accept burst* "
      "= N·(2,000,000 − B) / (accept + relay): how fast the nodes could take commands if every other "
      "role were deferred (decisions then lag, Kafka buffers them).")
    w("")
    for scen, hot, label in (("orders", 6, "orders (keys on all 6 partitions)"),
                             ("flash-sale", 1, "flash sale, one campaign (one coupons partition)")):
        one, three = L.get(("1node", scen)), L.get(("3node", scen))
        if not (one and three):
            continue
        gross, g = capacity_rows(one, three, hot, net=False)
        netr, p = capacity_rows(one, three, hot, net=True)
        w(f"### {label}")
        w("")
        dec = ", ".join(f"`{k}` {v:.1f}" for k, v in sorted(p["dec"].items()))
        w(f"Inputs, µs of CPU per command from the 3-node run (kafka clients and other: fitted "
          f"p + N·q). **Gross** (idle background inside the costs): accept {g['A']:.1f}, decide "
          f"{g['D']:.1f}, relay {g['R']:.1f}, view per node {g['V_node']:.1f}, kafka clients "
          f"p {g['pK']:.1f} q {g['qK']:.1f}, other p {g['pO']:.1f} q {g['qO']:.1f}: "
          f"**part = {g['part']:.1f}**, **repl = {g['repl']:.1f}**. **Net** (background B = "
          f"{p['B'] / 1e4:.1f}% of a core per node taken off its 2 cores): accept {p['A']:.1f}, "
          f"decide {p['D']:.1f}, relay {p['R']:.1f}, view per node {p['V_node']:.1f}, kafka "
          f"clients p {p['pK']:.1f} q {p['qK']:.1f}, other p {p['pO']:.1f} q {p['qO']:.1f}: "
          f"**part = {p['part']:.1f}**, **repl = {p['repl']:.1f}**. Single threads (gross): "
          f"{dec}, appender {p['append']:.1f}.")
        w("")
        w("| N nodes | capacity /s, gross costs | limited by | capacity /s, net costs + B | limited by | accept burst /s (gross .. net) |")
        w("| ---: | ---: | --- | ---: | --- | ---: |")
        for (n, _, cg, lg, bg), (_, _, cn, ln, bn) in zip(gross, netr):
            w(f"| {n} | **{fmt(cg, 0)}** | {lg} | **{fmt(cn, 0)}** | {ln} | {fmt(bg, 0)} .. {fmt(bn, 0)} |")
        lim_g = 2e6 / g["repl"] if g["repl"] > 0 else float("inf")
        lim_n = (2e6 - p["B"]) / p["repl"] if p["repl"] > 0 else float("inf")
        w("")
        w(f"As N grows the CPU bound tends to (2,000,000 − B) / repl: {fmt(lim_g, 0)}/s with the "
          f"gross costs, {fmt(lim_n, 0)}/s with the net ones. That is the work every node repeats "
          f"for every decision (its view, and the Kafka clients' per-node share: every node "
          f"consumes every changelog partition, and here polls the mock with a 1 ms fetch "
          f"wait), the ceiling of this design whatever N. The one `surge-view` thread per node "
          f"alone would allow {fmt(1e6 / g['V_node'] if g['V_node'] else float('inf'), 0)}/s "
          f"(gross).")
        w("")

    # --------------------------------------------------------- observations
    w("## What the runs showed besides the figures")
    w("")
    for (phase, scen), l in sorted(L.items()):
        p0 = l.meta.get("pending_orders_before") or 0
        p1 = l.meta.get("pending_orders_after") or 0
        d0 = l.meta.get("dead_lettered_before", 0)
        d1 = l.meta.get("dead_lettered_total", 0)
        w(f"- {phase} {scen}: {l.accepted - l.decided:,} of {l.accepted:,} accepted commands "
          f"without a decision when the cluster went quiet; orders left PENDING "
          f"(`surge_orders{{status=\"PENDING\"}}`, n1's view) +{p1 - p0:,}; messages "
          f"dead-lettered (`surge_projection_dead_lettered_total`, all nodes) +{d1 - d0:,}.")
    w("")
    w("**Orders stuck PENDING in the multi-node runs (a cluster-mode defect, reported, not worked "
      "around).** With 3 nodes, the order saga dead-letters `StockDecreased` events with "
      "`FAILED_PRECONDITION: unknown order o-...` (log excerpts below) and those orders never "
      "settle: they stay PENDING on every node, and the checker's \"every order settled exactly "
      "once\" cannot hold for them. The bursts come when the load starts and a few more during "
      "it; the 1-node cluster had none. Likely cause (from the logs, not verified in the code): "
      "an order's `OrderPlaced` reaches `surge.orders` through the relay of the node that "
      "accepted it, while its `StockDecreased` comes through the relay of the node that owns the "
      "SKU's stock partition; two producers keep no order between them, so the decision can "
      "land in the partition before the order it answers, and the saga dead-letters instead of "
      "holding it back. The figures above count only what was decided; the CPU of those orders' "
      "missing saga steps is missing from the 3-node decide figure (a few percent).")
    ex = sorted(glob.glob(f"{results}/*-n*.excerpt.log"))
    if ex:
        w("")
        w("Log excerpts (first lines of each node's WARN/ERROR lines, librdkafka's connection "
          "noise at shutdown left out):")
        w("")
        w("```")
        for path in ex:
            lines = [x.rstrip("\n") for x in open(path)]
            lines = lines[:3] + lines[-1:] if len(lines) > 4 else lines
            if lines:
                w(f"# {os.path.basename(path)}")
                md.extend(lines)
        w("```")
    w("")
    w(f"1-min load average at the end: {open(f'{results}/load-end.txt').read().strip() if os.path.exists(f'{results}/load-end.txt') else '?'}.")
    w("")
    if has_issue20(results):
        md.extend(issue20_section(results))
    open(out, "w").write("\n".join(md))
    return 0


# ------------------------------------------------------ failover split (20) --
TOPIC_OF = {"stock": "surge.stock", "order-saga": "surge.orders", "coupons": "surge.coupons"}
SURGE_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z (\w+) \[[^\]]*\] (.*)$")
RDK_LINE = re.compile(r"^%\d+\|(\d+\.\d+)\|([A-Z]+)\|([^|]*)\| (.*)$")
RESTORED = re.compile(r"^([\w-]+): restored ([\w.]+)/(\d+) from (.*?)(\d+) changelog records .* in "
                      r"([\d.]+) s")
GAINED = re.compile(r"^([\w-]+): gained ([\w.]+) partitions \[([\d,]*)\]")
REBALANCING = re.compile(r'Group "surge-decider-([\w-]+)".*[Rr]ebalance in progress')
DECIDER_CLIENT = re.compile(r"-decider-([\w-]+)#consumer")


def surge_ts(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def cmd_failover_split(run, t_kill, t_restart, describe, dead, logs):
    """One line per decider n3 owned partitions of: run, decider, partitions, detection s
    (kill -> a survivor's first heartbeat of that group answered "rebalance in progress"),
    assigned s (kill -> the earliest restore start of one of them on a survivor: its
    "restored" line minus its duration), gained s (kill -> the last "gained" line naming
    one of them), restore s (longest "restored ... in X s" of them), records restored,
    restores from a snapshot, from the warm standby."""
    t_kill, t_restart = float(t_kill), float(t_restart)
    lost = {}
    for (dec, p), o in owners(json.load(open(describe))).items():
        if o == dead:
            lost.setdefault(dec, set()).add(p)
    detect, restores, gained = {}, {}, {}
    for path in logs:
        for line in open(path, errors="replace"):
            m = RDK_LINE.match(line)
            if m:
                ts = float(m.group(1))
                if t_kill < ts < t_restart and "ebalance in progress" in m.group(4):
                    # A heartbeat (or an offset commit) of a decider's
                    # consumer answered "rebalance in progress".
                    g = REBALANCING.search(m.group(4)) or DECIDER_CLIENT.search(m.group(3))
                    if g:
                        detect[g.group(1)] = min(detect.get(g.group(1), ts), ts)
                continue
            m = SURGE_LINE.match(line)
            if not m:
                continue
            ts = surge_ts(m.group(1))
            if not t_kill < ts < t_restart:
                continue
            msg = m.group(3)
            r = RESTORED.match(msg)
            if r and int(r.group(3)) in lost.get(r.group(1), ()):
                how = "standby" if "warm standby" in r.group(4) else (
                    "snapshot" if "snapshot" in r.group(4) else "chain")
                restores.setdefault(r.group(1), {})[int(r.group(3))] = (
                    ts - float(r.group(6)), ts, float(r.group(6)), int(r.group(5)), how)
                continue
            g = GAINED.match(msg)
            if g:
                parts = {int(x) for x in g.group(3).split(",") if x}
                if parts & lost.get(g.group(1), set()):
                    gained[g.group(1)] = max(gained.get(g.group(1), 0.0), ts)
    nan = float("nan")
    for dec in DECIDERS:
        if dec not in lost:
            continue
        rs = restores.get(dec, {})
        start = min((x[0] for x in rs.values()), default=nan)
        print("\t".join(str(x) for x in (
            run, dec, len(lost[dec]),
            round(detect[dec] - t_kill, 3) if dec in detect else nan,
            round(start - t_kill, 3) if rs else nan,
            round(gained[dec] - t_kill, 3) if dec in gained else nan,
            max((x[2] for x in rs.values()), default=nan),
            sum(x[3] for x in rs.values()),
            sum(1 for x in rs.values() if x[4] == "snapshot"),
            sum(1 for x in rs.values() if x[4] == "standby"),
            len(rs))))
    return 0


LOST_LINE = re.compile(r"^([\w-]+): lost ([\w.]+) partitions \[([\d,]*)\]; owning (\d+)")
ASSIGNMENT_LOST = re.compile(r'Group "surge-decider-([\w-]+)": current assignment of (\d+) partition\(s\) lost: (.*)')


def cmd_rejoin_summary(settle, logs):
    """Per rejoin of the killed node (rows of rebalance-settle.tsv with a restart time):
    restart -> every node deciding again (s), the largest admission delay seen, and on
    the survivors (their logs): the deciders that lost every partition they owned
    ("lost ... owning 0") and librdkafka's "assignment lost" events, with their causes."""
    rows = []
    for line in open(settle):
        f = line.rstrip("\n").split("\t")
        if len(f) < 5 or f[1] in ("-", ""):
            continue
        rows.append((int(f[0]), float(f[1]), float(f[2]), float(f[4])))
    for r, t_restart, t_end, worst in rows:
        full, lost_events = {}, {}
        for path in logs:
            node = os.path.basename(path).split(".")[0]
            for line in open(path, errors="replace"):
                m = RDK_LINE.match(line)
                if m:
                    ts = float(m.group(1))
                    if t_restart < ts < t_end:
                        a = ASSIGNMENT_LOST.search(m.group(4))
                        if a:
                            cause = a.group(3).split(":")[0]
                            lost_events.setdefault(f"{node} {a.group(1)}: {cause}", 0)
                            lost_events[f"{node} {a.group(1)}: {cause}"] += 1
                    continue
                m = SURGE_LINE.match(line)
                if not m:
                    continue
                ts = surge_ts(m.group(1))
                if not t_restart < ts < t_end:
                    continue
                lo = LOST_LINE.match(m.group(3))
                if lo and lo.group(4) == "0" and lo.group(3):
                    full.setdefault(lo.group(1), set()).add(node)
        print("\t".join(str(x) for x in (
            r - 1, round(t_end - t_restart, 2), worst,
            ";".join(f"{d}@{','.join(sorted(n))}" for d, n in sorted(full.items())) or "-",
            ";".join(f"{k} x{v}" for k, v in sorted(lost_events.items())) or "-")))
    return 0


# ------------------------------------------------------------ issue 20 ------
def pm(ok):
    if ok is None:
        return "n/a"
    return "**pass**" if ok else "**miss**"


def issue20_section(results):
    run = load_json(f"{results}/run.json") or {}
    md = []
    w = md.append
    w("## Issue 20: snapshots, standbys, cooperative rebalancing, pipelined decider")
    w("")
    w(f"Generated by `bench/cluster/run.sh` (phases `{run.get('phases', '?')}`) at "
      f"{run.get('commit', '?')}{' (dirty tree)' if run.get('dirty') else ''} on "
      f"{run.get('date', '?')}: {run.get('nproc', '?')} cores, 1-min load "
      f"{run.get('load_start', '?')} at the start, "
      f"{open(f'{results}/load-end.txt').read().strip() if os.path.exists(f'{results}/load-end.txt') else '?'} "
      f"at the end. Raw figures in `{os.path.relpath(results, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))}`. "
      f"The baseline is the single node of the same run, on the same kind of broker: "
      f"**compare ratios within this run, not absolute figures across runs.**")
    w("")
    L = {}
    for phase in ("single", "1node", "3node"):
        for scen in ("orders", "flash-sale"):
            l = Load(results, phase, scen)
            if l.ok:
                L[(phase, scen)] = l
    label = {"single": "single node (no `--cluster`)", "1node": "1-node cluster",
             "3node": "3-node cluster"}

    # --------------------------------------------------------- throughput
    w("### Single node vs 1-node vs 3-node cluster")
    w("")
    w(f"Each on a fresh `surge-kafka-dev --brokers=1 --partitions={run.get('partitions', 6)}`; the "
      f"single node is `surge-server --kafka_brokers=<it> --kafka_partitions="
      f"{run.get('partitions', 6)} --kafka_fetch_wait_ms=1` (its projections decide and write the "
      f"read models; no changelog, no view), the clusters add `--cluster "
      f"--cluster_session_timeout_ms={run.get('session_timeout_ms', 6000)}` and the defaults "
      f"(snapshots at 1 MiB, eager `range` assignment, pipelined decider). Same load for all three: "
      f"{run.get('clients', 3)} `surge-bench` processes (round-robin over the nodes), "
      f"{run.get('concurrency', 48)} calls in flight in all; orders closed loop for "
      f"{run.get('duration', '?')}, then a flash sale of {run.get('flash_requests_per_client', '?')} "
      f"requests per client (each client its own campaign of {run.get('flash_coupons', '?')}). "
      f"*decided/s*: distinct decision events read live from Kafka over the span from the first "
      f"to the last. Calls admission did not take were refused with "
      f"RESOURCE_EXHAUSTED (counted under errors; that slot of surge-bench waits 10 ms, its --refused_backoff default, before its next call).")
    w("")
    w("| deployment | 1-min load at its start | orders accepted | orders accepted/s | **orders decided/s** | orders errors | coupons accepted | coupons accepted/s | **coupons decided/s** | coupons errors |")
    w("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |")
    for phase in ("single", "1node", "3node"):
        o, f = L.get((phase, "orders")), L.get((phase, "flash-sale"))
        try:
            cells = [open(f"{results}/{phase}.load").read().strip()]
        except OSError:
            cells = ["?"]
        for l in (o, f):
            if l:
                errs = ", ".join(f"{k} {v}" for k, v in sorted(l.errors.items())) or "none"
                cells += [f"{l.accepted:,} ({100.0 * l.decided / max(1, l.accepted):.0f}% decided)",
                          fmt(l.accepted_ps), f"**{fmt(l.decided_ps)}**", errs]
            else:
                cells += ["(not run)", "", "", ""]
        w(f"| {label[phase]} | " + " | ".join(cells) + " |")
    for num, den, name in (("1node", "single", "1-node cluster / single"),
                           ("3node", "1node", "3-node / 1-node cluster")):
        cells = [""]
        for scen in ("orders", "flash-sale"):
            a, b = L.get((num, scen)), L.get((den, scen))
            if a and b:
                cells += ["", f"{ratio(a.accepted_ps, b.accepted_ps):.2f}x",
                          f"**{ratio(a.decided_ps, b.decided_ps):.2f}x**", ""]
            else:
                cells += ["", "", "n/a", ""]
        w(f"| *{name}* | " + " | ".join(cells) + " |")
    w("")
    w("The machine may be shared (other sessions' builds and tests may run meanwhile). "
      "*Other work* = the CPU of every process on the machine (`/proc/stat`) "
      "minus this run's own (the nodes, the broker, and the clients, kcat, curl and "
      "surge-cli this script reaped), in % of one core: before each deployment's phase the "
      "script waited (at most a bounded time) for it to drop below a threshold, and it is "
      "measured over each load window too. Other work takes cores from the phase it overlaps, "
      "so a deployment measured under more of it is slowed by that, not by its design.")
    w("")
    w("| deployment | other work before its phase (waited s) | other work during orders | other work during the flash sale |")
    w("| --- | ---: | ---: | ---: |")
    for phase in ("single", "1node", "3node"):
        g = load_json(f"{results}/{phase}.gate.json")
        cells = [f"{g['other_pct']}% ({g['waited_s']} s)" if g else "?"]
        for scen in ("orders", "flash-sale"):
            l = L.get((phase, scen))
            v = l.meta.get("other_pct") if l else None
            cells.append("?" if v is None else f"{v}%")
        w(f"| {label[phase]} | " + " | ".join(cells) + " |")
    w("")
    targets = []
    o1, os_, o3 = L.get(("1node", "orders")), L.get(("single", "orders")), L.get(("3node", "orders"))
    t1 = ratio(o1.decided_ps, os_.decided_ps) if o1 and os_ else None
    t3 = ratio(o3.decided_ps, o1.decided_ps) if o3 and o1 else None
    c1 = (L.get(("1node", "flash-sale")), L.get(("single", "flash-sale")), L.get(("3node", "flash-sale")))
    w("| target | measured | |")
    w("| --- | ---: | --- |")
    w(f"| 1-node cluster orders decided/s >= 0.8x single node | "
      f"{'n/a' if t1 is None else f'{t1:.2f}x'} | {pm(None if t1 is None else t1 >= 0.8)} |")
    w(f"| 3-node cluster orders decided/s >= 1-node cluster | "
      f"{'n/a' if t3 is None else f'{t3:.2f}x'} | {pm(None if t3 is None else t3 >= 1.0)} |")
    if c1[0] and c1[1]:
        x = ratio(c1[0].decided_ps, c1[1].decided_ps)
        w(f"| (no target) 1-node cluster coupons decided/s vs single node | {x:.2f}x | |")
    if c1[2] and c1[0]:
        x = ratio(c1[2].decided_ps, c1[0].decided_ps)
        w(f"| (no target) 3-node vs 1-node cluster coupons decided/s | {x:.2f}x | |")
    w("")

    # ----------------------------------------------------------------- CPU
    w("Server CPU per accepted command by role (µs, summed over the nodes, gross: the idle "
      "background of the window included), from `/proc/<pid>/task/*/stat` between the start "
      "of the clients and a quiet cluster, roles by thread name as in the issue-12 section "
      "above. The single node's `surge-p-*` projection threads are counted as **decide**: "
      "they decide and write the read models, which a cluster splits between its deciders "
      "(`surge-d-*`) and its `surge-view`; compare *decide + view*.")
    w("")
    phases = [p for p in ("single", "1node", "3node") if (p, "orders") in L or (p, "flash-sale") in L]
    for scen in ("orders", "flash-sale"):
        have = [p for p in phases if (p, scen) in L]
        if not have:
            continue
        head = f"| {scen}: role |" + "".join(f" {p} |" for p in have)
        sep = "| --- |" + " ---: |" * len(have)
        pairs = [(a, b) for a, b in (("1node", "single"), ("3node", "1node")) if a in have and b in have]
        head += "".join(f" {a}/{b} |" for a, b in pairs)
        sep += " ---: |" * len(pairs)
        w(head)
        w(sep)
        rows = list(ROLES) + ["decide + view", "total", "total net of idle"]
        for r in rows:
            vals = {}
            for p in have:
                l = L[(p, scen)]
                if r == "total":
                    vals[p] = l.total_us()
                elif r == "total net of idle":
                    vals[p] = l.net_total_us()
                elif r == "decide + view":
                    vals[p] = l.role_us("decide") + l.role_us("view")
                else:
                    vals[p] = l.role_us(r)
            bold = r in ("total", "decide + view")
            line = f"| {'**' + r + '**' if bold else r} |" + "".join(
                f" {fmt(vals[p])} |" for p in have)
            line += "".join(f" {ratio(vals[a], vals[b]):.2f}x |" for a, b in pairs)
            w(line)
        w("")
    idle_rows = []
    for p in phases:
        ic = idle_cpu(results, p)
        if ic:
            idle_rows.append((p, ic[0], ic[1]))
    if idle_rows:
        w("Idle background before the load (% of one core, summed over the nodes):")
        w("")
        w("| deployment |" + "".join(f" {r} |" for r in ROLES) + " total |")
        w("| --- |" + " ---: |" * (len(ROLES) + 1))
        for p, roles, n in idle_rows:
            w(f"| {p} ({n} node{'s' if n > 1 else ''}) |" + "".join(f" {fmt(roles[r])} |" for r in ROLES)
              + f" {fmt(sum(roles.values()))} |")
        w("")
    dec_threads = sorted({t for (p, s), l in L.items() for t in l.names
                          if t.startswith("surge-d-") or t.startswith("surge-p-") or t in (
                              "surge-view", "surge-append", "surge-relay")})
    if dec_threads:
        cols = [(p, s) for s in ("orders", "flash-sale") for p in phases if (p, s) in L]
        w("Single threads, µs per command (summed over nodes):")
        w("")
        w("| thread |" + "".join(f" {s}: {p} |" for p, s in cols))
        w("| --- |" + " ---: |" * len(cols))
        for t in dec_threads:
            w(f"| `{t}` |" + "".join(f" {fmt(L[c].us(L[c].names.get(t, 0)))} |" for c in cols))
        w("")

    # ------------------------------------------------------------ failover
    split = []
    try:
        for line in open(f"{results}/rebalance-split.tsv"):
            f = line.rstrip("\n").split("\t")
            if len(f) >= 11:
                split.append((int(f[0]), f[1], int(f[2]), *[float(x) for x in f[3:7]],
                              int(f[7]), int(f[8]), int(f[9]), int(f[10])))
    except OSError:
        pass
    reb = {}
    try:
        for line in open(f"{results}/rebalance.tsv"):
            f = line.rstrip("\n").split("\t")
            t0 = float(f[1])
            reb[int(f[0])] = (float(f[4]) - t0, float(f[5]) - t0,
                              f[6].replace("COUPON_REQUEST_STATUS_", ""), f[7])
    except (OSError, ValueError, IndexError):
        pass
    w("### Failover after a SIGKILL, split")
    w("")
    if split or reb:
        w(f"The `rebalance` phase (3 nodes, session timeout {run.get('session_timeout_ms', 6000)} ms, "
          f"light load, `kill -9` of n3, {len(reb)} runs), split with the survivors' log "
          f"timestamps (librdkafka's `cgrp` debug on every consumer, `consumer.debug=cgrp` "
          f"through `--kafka_config_file`), per decider whose partitions n3 owned: "
          f"**detection** = kill → the first heartbeat of that decider's group on a survivor "
          f"answered \"rebalance in progress\" (the broker expired n3); **rebalance** = → the "
          f"assignment reached a survivor (its `restored <topic>/<p> ... in X s` line minus X); "
          f"**restore** = the longest X of n3's partitions of that decider; *gained* = kill → "
          f"the last `gained` line naming one of them. *owned* and *decided* are the issue-12 "
          f"measures (cluster view on n1 shows every partition of n3 owned by a survivor; a "
          f"coupon request on one of n3's coupons partitions, sent to n1 right after the kill, "
          f"decided).")
        w("")
        w("| run | decider | partitions n3 owned | detection s | rebalance s | **restore s** | gained s after kill | records restored | from snapshot / standby / all |")
        w("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        det, rbl, rst = [], [], []
        for (r, dec, n, d_s, a_s, g_s, x_s, recs, snap, standby, nrest) in split:
            w(f"| {r} | {dec} | {n} | {fmt(d_s, 2)} | {fmt(a_s - d_s, 2)} | **{fmt(x_s, 3)}** | "
              f"{fmt(g_s, 2)} | {recs:,} | {snap} / {standby} / {nrest} |")
            for lst, v in ((det, d_s), (rbl, a_s - d_s), (rst, x_s)):
                if not math.isnan(v):
                    lst.append(v)
        w("")
        if reb:
            w("| run | all of n3's partitions owned by survivors s | coupon request decided s | status |")
            w("| ---: | ---: | ---: | --- |")
            for r, (owned_s, dec_s, status, part) in sorted(reb.items()):
                w(f"| {r} | {fmt(owned_s, 2)} | {fmt(dec_s, 2)} (coupons/{part}) | {status} |")
            w("")
        rejoin = []
        try:
            for line in open(f"{results}/rebalance-rejoin.tsv"):
                f = line.rstrip("\n").split("\t")
                if len(f) >= 5:
                    rejoin.append(f)
        except OSError:
            pass
        if rejoin:
            w("n3 restarted on its data dir after each run (its rejoin is a rebalance too): from "
              "the restart until every node's oldest accepted but undecided command had waited "
              "< 1 s again (`surge_admission_decision_delay_seconds`, polled every 0.5 s), the "
              "largest such wait seen meanwhile, and from the survivors' logs the deciders that "
              "lost their whole assignment (`lost ... owning 0`) and librdkafka's \"current "
              "assignment ... lost\" events, by cause:")
            w("")
            w("| after run | restart → every node deciding s | largest undecided wait s | survivors' deciders that lost every partition | librdkafka \"assignment lost\" (node decider: cause) |")
            w("| ---: | ---: | ---: | --- | --- |")
            for f in rejoin:
                w(f"| {f[0]} | {f[1]} | {f[2]} | {f[3].replace(';', '; ')} | {f[4].replace(';', '; ')} |")
            w("")
        tot = [max(o, d) for (o, d, st, _) in reb.values() if st in ("ISSUED", "REJECTED")]
        parts = []
        for name, lst in (("detection", det), ("rebalance", rbl), ("restore", rst)):
            if lst:
                parts.append(f"{name} median {statistics.median(lst):.2f} s (min {min(lst):.2f}, "
                             f"max {max(lst):.2f})")
        if tot:
            parts.append(f"total (the later of owned and decided) median "
                         f"{statistics.median(tot):.2f} s (min {min(tot):.2f}, max {max(tot):.2f})")
        if parts:
            w("Over the runs and deciders: " + "; ".join(parts) + ".")
            w("")
    else:
        w("(not run)")
        w("")

    # ------------------------------------------------------------- history
    w("### Restore seconds vs history (same live state)")
    w("")
    hj = load_json(f"{results}/history.json")
    if hj and hj.get("histories"):
        w(f"`restore-bench --history={run.get('history', '?')}` (bench/cluster/restore_bench.cc): "
          f"per multiplier, a fresh in-process mock broker (`surge.coupons` and its changelog "
          f"with 1 partition) and a real `cluster::Decider` with default Options (snapshots "
          f"every 200 records or 1 MiB of records; session timeout "
          f"{hj['session_timeout_ms']} ms, {hj['assignment_strategy']}) deciding a flash sale: "
          f"a campaign of {hj['quantity']:,} coupons, {hj['quantity']:,} requests of distinct "
          f"users (all issued: **the live state, the same in every row**), then multiplier x "
          f"{hj['base_rejected']:,} requests of new users with {hj['pad']:,} bytes of padding in "
          f"their user ids (all rejected: history, view-only rows of the changelog), sent in "
          f"rounds of {hj['round']:,}, each decided before the next (the mock drops a "
          f"partition's oldest messages past ~5 MiB, the input's too). Then the partition is "
          f"taken over alternately by a **cold** node (fresh store, no standby: latest "
          f"snapshot + tail from the changelog) and by a node whose `cluster::View` mirrored "
          f"the changelog all along (**standby**), each joining before the owner `Stop()`s. "
          f"*restore s* is the new owner's `restore_seconds_sum / restores` (reading and "
          f"applying; the group join excluded).")
        w("")
        w("| history | requests | input MiB | changelog: batch records written (offsets kept, chunks included) | snapshots written | state keys | takeover | n | **restore s** min / median / max | records read after the snapshot | snapshot bytes read | keys restored | from snapshot / standby | owned s after the owner's Stop() (median) |")
        w("| --- | ---: | ---: | --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | --- | ---: |")
        med = {"cold": [], "standby": []}
        allmax = {"cold": [], "standby": []}
        for h in hj["histories"]:
            wr = h["writer"]
            for kind in ("cold", "standby"):
                ts = [t for t in h["takeovers"] if t["kind"] == kind]
                if not ts:
                    continue
                secs = [t["seconds"] for t in ts]
                m = statistics.median(secs)
                med[kind].append((h["multiplier"], m))
                allmax[kind].append(max(secs))
                recs = "/".join(str(t["stats"]["restored_records"]) for t in ts)
                snapb = "/".join(f"{t['stats']['restored_snapshot_bytes']:,}" for t in ts)
                keys = "/".join(str(t["stats"]["restored_keys"]) for t in ts)
                src = f"{sum(t['stats']['restores_from_snapshot'] for t in ts)} / " \
                      f"{sum(t['stats']['restores_from_standby'] for t in ts)} of {len(ts)}"
                w(f"| {h['multiplier']}x | {h['requests']:,} | {h['input_mib']:.1f} | "
                  f"{wr['changelog_records']:,} ({h['changelog_low']:,}..{h['changelog_high'] - 1:,}) | "
                  f"{wr['snapshots']} | {wr['state_keys']:,} | {kind} | {len(ts)} | "
                  f"{min(secs):.4f} / **{m:.4f}** / {max(secs):.4f} | {recs} | {snapb} | {keys} | {src} | "
                  f"{statistics.median(t['wall_seconds'] for t in ts):.2f} |")
        w("")
        w("| target | measured | |")
        w("| --- | ---: | --- |")
        for kind in ("cold", "standby"):
            ms = med[kind]
            if len(ms) >= 2:
                lo = min(x for _, x in ms)
                hi = max(x for _, x in ms)
                spread = hi / lo if lo > 0 else float("inf")
                w(f"| {kind}: restore flat within 2x across {', '.join(f'{m}x' for m, _ in ms)} "
                  f"history (largest / smallest median) | {spread:.2f}x "
                  f"({hi:.4f} / {lo:.4f} s) | {pm(spread <= 2.0)} |")
            if ms:
                worst = max(allmax[kind])
                w(f"| {kind}: restore < 0.5 s (slowest of every takeover) | {worst:.4f} s | "
                  f"{pm(worst < 0.5)} |")
        w("")
    else:
        w("(not run)")
        w("")
    return md


def cmd_issue20(results, out):
    open(out, "w").write("\n".join(issue20_section(results)))
    return 0


def has_issue20(results):
    return any(os.path.exists(f"{results}/{f}") for f in (
        "single-orders.json", "history.json", "rebalance-split.tsv"))



def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "cluster-ok":
        return cmd_cluster_ok(sys.argv[2], int(sys.argv[3]))
    if len(sys.argv) >= 2 and sys.argv[1] == "owned":
        return cmd_owned(sys.argv[2], sys.argv[3])
    if len(sys.argv) >= 2 and sys.argv[1] == "decisions-summary":
        json.dump(decisions_summary(sys.argv[2]), sys.stdout)
        print()
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "moved-deciders":
        return cmd_moved_deciders(sys.argv[2], sys.argv[3], sys.argv[4])
    if len(sys.argv) >= 2 and sys.argv[1] == "moved":
        return cmd_moved(sys.argv[2], sys.argv[3], sys.argv[4])
    if len(sys.argv) >= 2 and sys.argv[1] == "rejoin-summary":
        return cmd_rejoin_summary(sys.argv[2], sys.argv[3:])
    if len(sys.argv) >= 2 and sys.argv[1] == "failover-split":
        return cmd_failover_split(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6],
                                  sys.argv[7:])
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["report", "issue20"])
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "issue20":
        return cmd_issue20(a.results, a.out)
    return cmd_report(a.results, a.out)


if __name__ == "__main__":
    sys.exit(main())
