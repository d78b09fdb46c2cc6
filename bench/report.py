#!/usr/bin/python3
"""Writes BENCHMARKS.md and its SVG plots from the JSON files bench/run.sh left
in the results dir. Ratios surge/baseline come from one run on one machine:
absolute numbers on a shared 2-core box are noisy, ratios less so."""
import argparse
import csv
import datetime
import json
import os
import subprocess

SCENARIOS = ["noop", "orders", "flash-sale", "mixed", "orders-open"]


def memory_note(m):
    """What an RSS figure is made of, by the server's own counts (server.json's memory)."""
    m = m or {}
    if not m.get("allocator_allocated"):
        return ""
    mib = lambda b: b / (1 << 20)
    rocks = m.get("memtables", 0) + m.get("block_cache", 0) + m.get("table_readers", 0)
    return (f"; jemalloc: {mib(m['allocator_allocated']):.0f} MiB live, "
            f"{mib(m.get('allocator_resident', 0)):.0f} MiB resident; of the live, RocksDB "
            f"{mib(rocks):.0f} MiB (memtables {mib(m.get('memtables', 0)):.0f}, block cache "
            f"{mib(m.get('block_cache', 0)):.0f} with the SSTs' index and filters, SST readers "
            f"{mib(m.get('table_readers', 0)):.0f}), the rest {mib(m['allocator_allocated'] - rocks):.0f} "
            f"MiB (the embedded broker's retained messages, Kafka client queues, gRPC)")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def machine(root):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kib = int(line.split()[1])
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "mem_gib": mem_kib / 2**20, "cpu": cpu,
            "kernel": os.uname().release, "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def redis_figures(results, name):
    path = os.path.join(results, name + ".csv")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    r = rows[0]
    check = load(os.path.join(results, name + "-check.json")) or {}
    return {"rps": float(r["rps"]), "p50_ms": float(r["p50_latency_ms"]),
            "p99_ms": float(r["p99_latency_ms"]), "max_ms": float(r["max_latency_ms"]),
            "issued": check.get("issued"), "users_served": check.get("users_served")}


def prometheus_samples(path):
    """{(name, labels-without-le): {le or None: value}} from a /metrics dump."""
    out = {}
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        name, _, labels = series.partition("{")
        labels = labels.rstrip("}")
        le = None
        kept = []
        for part in labels.split(",") if labels else []:
            if part.startswith("le="):
                le = part[4:-1]
            else:
                kept.append(part)
        try:
            out.setdefault((name, ",".join(kept)), {})[le] = float(value)
        except ValueError:
            pass
    return out


def histogram_quantiles(before, after, name, labels, qs=(0.5, 0.99)):
    """Upper bounds of the buckets holding the quantiles of what a histogram
    counted between two dumps (Prometheus buckets are cumulative)."""
    b = (before or {}).get((name + "_bucket", labels), {})
    a = (after or {}).get((name + "_bucket", labels), {})
    if not a:
        return None
    bounds = sorted(a, key=lambda le: float("inf") if le == "+Inf" else float(le))
    counts = [(le, a[le] - b.get(le, 0)) for le in bounds]
    total = counts[-1][1]
    if total <= 0:
        return None
    result = []
    for q in qs:
        result.append(next(le for le, c in counts if c >= q * total))
    return total, result


def read_threads(path):
    """{thread group: (utime, stime)} from a thread_cpu snapshot; digits -> #."""
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                name, utime, stime = line.rstrip("\n").split("\t")
                group = name.rstrip("0123456789") + ("#" if name[-1:].isdigit() else "")
                u, s = rows.get(group, (0, 0))
                rows[group] = (u + int(utime), s + int(stime))
    except (OSError, ValueError):
        return None
    return rows


def thread_deltas(res, name):
    """{thread group: ticks (user + system)} between <name>-threads-before/after.tsv."""
    before = read_threads(os.path.join(res, name + "-threads-before.tsv"))
    after = read_threads(os.path.join(res, name + "-threads-after.tsv"))
    if not (before and after):
        return None
    return {g: (after[g][0] + after[g][1]) - sum(before.get(g, (0, 0))) for g in after}


def pg_figures(res, tag="pg"):
    """The PostgreSQL outbox peer: pgbench figures of both flows, the settings
    and the invariant checks (name, ok, detail)."""
    orders = load(os.path.join(res, tag + "-orders.json"))
    coupons = load(os.path.join(res, tag + "-coupons.json"))
    checks = []
    try:
        with open(os.path.join(res, tag + "-check.tsv")) as f:
            for line in f:
                parts = line.rstrip("\n").split("|")
                if len(parts) == 3:
                    checks.append((parts[0], parts[1] == "t", parts[2]))
    except OSError:
        pass
    settings = ""
    try:
        with open(os.path.join(res, tag + "-settings.txt")) as f:
            settings = f.read().strip()
    except OSError:
        pass
    if not (orders or coupons):
        return None
    return {"orders": orders, "coupons": coupons, "checks": checks, "settings": settings}


CPU_SCENARIOS = [("noop", "no-op gRPC call"), ("orders", "order"), ("flash-sale", "coupon request")]


def cpu_figures(res, config):
    """Server CPU per call of each CPU run of one configuration:
    {scenario: {calls, us, net_us, broker_us, seconds, threads: {group: us per call}}};
    net_us takes off the idle background (the idle rate of the same fresh
    server, measured just before, times the run's window)."""
    out = {}
    idle = load(os.path.join(res, f"cpu-{config}-idle.json"))
    idle_rate = idle["ticks"] / idle["seconds"] if idle and idle.get("seconds") else 0
    for scen, _ in CPU_SCENARIOS:
        name = f"cpu-{config}-{scen}"
        cpu = load(os.path.join(res, name + ".json"))
        bench = load(os.path.join(res, name + ".bench.json"))
        if not (cpu and bench):
            continue
        calls = bench["accepted"] + sum(bench["errors"].values())
        if calls <= 0:
            continue
        tick = cpu["clk_tck"]
        deltas = thread_deltas(res, name) or {}
        out[scen] = {"calls": calls, "accepted": bench["accepted"], "errors": bench["errors"],
                     "seconds": cpu["seconds"],
                     "us": cpu["ticks"] / tick / calls * 1e6,
                     "net_us": max(0.0, cpu["ticks"] - idle_rate * cpu["seconds"]) / tick / calls * 1e6,
                     "broker_us": cpu.get("broker_ticks", 0) / tick / calls * 1e6,
                     "threads": {g: t / tick / calls * 1e6 for g, t in deltas.items()}}
    return out


def idle_figures(res, name):
    idle = load(os.path.join(res, name + ".json"))
    if not idle or not idle.get("seconds"):
        return None
    pct = 100 * idle["ticks"] / idle["clk_tck"] / idle["seconds"]
    deltas = thread_deltas(res, name) or {}
    threads = {g: 100 * t / idle["clk_tck"] / idle["seconds"] for g, t in deltas.items()}
    broker_pct = (100 * idle["broker_ticks"] / idle["clk_tck"] / idle["seconds"]
                  if idle.get("broker_ticks") else None)
    return {"pct": pct, "seconds": idle["seconds"], "threads": threads, "broker_pct": broker_pct}


def open_loop_breakdown(res, run):
    """Markdown lines: where the open-loop run's CPU and time went, from the
    per-thread /proc snapshots and the /metrics dumps bench/run.sh took around it."""
    def threads(path):
        rows = {}
        try:
            with open(path) as f:
                for line in f:
                    name, utime, stime = line.rstrip("\n").split("\t")
                    group = name.rstrip("0123456789") + ("#" if name[-1:].isdigit() else "")
                    u, s = rows.get(group, (0, 0))
                    rows[group] = (u + int(utime), s + int(stime))
        except (OSError, ValueError):
            return None
        return rows
    before = threads(os.path.join(res, "orders-open-threads-before.tsv"))
    after = threads(os.path.join(res, "orders-open-threads-after.tsv"))
    mb = prometheus_samples(os.path.join(res, "orders-open-metrics-before.txt"))
    ma = prometheus_samples(os.path.join(res, "orders-open-metrics-after.txt"))
    if not (before and after and ma and run):
        return []
    key = ("surge_grpc_server_handled_total",
           'code="OK",method="surge.v1.OrderService/PlaceOrder"')
    orders = ma.get(key, {}).get(None, 0) - (mb or {}).get(key, {}).get(None, 0)
    if orders <= 0:
        return []
    tick = os.sysconf("SC_CLK_TCK")
    L = [f"## Where an order's CPU and time go (orders-open, {run['rate']:.0f}/s)\n",
         f"Measured around the open-loop run (warm-up and settling included): "
         f"{orders:,.0f} orders placed. Server CPU per order by thread (from /proc; "
         "`#` stands for a number):\n",
         "| thread | user µs/order | system µs/order | share |", "|---|---:|---:|---:|"]
    deltas = {g: (after[g][0] - before.get(g, (0, 0))[0], after[g][1] - before.get(g, (0, 0))[1])
              for g in after}
    total = sum(u + s for u, s in deltas.values())
    for g, (u, s) in sorted(deltas.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
        if total == 0 or (u + s) / total < 0.01:
            continue
        L.append(f"| `{g}` | {u / tick / orders * 1e6:.0f} | {s / tick / orders * 1e6:.0f} | "
                 f"{100 * (u + s) / total:.0f}% |")
    L.append(f"| all | | {total / tick / orders * 1e6:.0f} (user + system) | 100% |")
    L.append("")
    L.append("Time per hop, from the server's histograms over the same window (the bucket "
             "holding the quantile, so \"≤ 10 ms\" means between the next lower bound and 10 ms):\n")
    L.append("| what | count | p50 | p99 |")
    L.append("|---|---:|---:|---:|")
    rows = [("append: write + fsync of one group-commit batch", "surge_eventstore_commit_seconds", "")]
    for p in ("stock", "order-saga"):
        rows.append((f"{p}: event age on arrival (relay + Kafka + queue)",
                     "surge_projection_event_age_seconds", f'projection="{p}"'))
        rows.append((f"{p}: · its first part, commit → produced by the relay",
                     "surge_projection_event_relay_seconds", f'projection="{p}"'))
        rows.append((f"{p}: · its second part, produced → arrived (linger, broker, fetch, queue)",
                     "surge_projection_event_kafka_seconds", f'projection="{p}"'))
        rows.append((f"{p}: handling + committing one batch", "surge_projection_batch_seconds",
                     f'projection="{p}"'))
    for label, name, labels in rows:
        q = histogram_quantiles(mb, ma, name, labels)
        if q:
            count, (p50, p99) = q
            ms = lambda le: "> 10 s" if le == "+Inf" else f"≤ {float(le) * 1000:g} ms"
            L.append(f"| {label} | {count:,.0f} | {ms(p50)} | {ms(p99)} |")
    L.append("")
    return L


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def plots(results, runs):
    made = []
    # Throughput over time: accepted calls per second of every measured run.
    series = [(n, r["accepted_per_second_timeline"]) for n, r in runs.items()
              if r and r.get("accepted_per_second_timeline")]
    series += [(n + " decided", r["decided_per_second_timeline"]) for n, r in runs.items()
               if r and n in ("orders", "flash-sale") and r.get("decided_per_second_timeline")]
    if series:
        cmds = []
        for name, timeline in series:
            dat = os.path.join(results, name.replace(" ", "-") + "-timeline.dat")
            with open(dat, "w") as f:
                for second, n in enumerate(timeline):
                    f.write(f"{second} {n}\n")
            cmds.append(f"'{dat}' using 1:2 with linespoints title '{name}'")
        svg = os.path.join(results, "throughput.svg")
        gnuplot(f"""set terminal svg size 800,450 dynamic background rgb 'white'
set output '{svg}'
set title 'accepted (and decided) calls per second (measured phase)'
set xlabel 'second'; set ylabel 'calls/s'; set grid; set key outside right
plot {', '.join(cmds)}
""")
        made.append(("Throughput over time", "throughput.svg"))
    # Latency percentiles per scenario (accept and settle), log scale.
    for name, r in runs.items():
        if not r:
            continue
        dat = os.path.join(results, name + "-latency.dat")
        with open(dat, "w") as f:
            for label, key in [("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"),
                               ("p99.9", "p999_us"), ("max", "max_us")]:
                settle = r["settle_latency"][key] / 1000 if r.get("settle_latency") else 0
                f.write(f"{label} {r['accept_latency'][key] / 1000:.4f} {settle:.4f}\n")
        svg = os.path.join(results, f"latency-{name}.svg")
        settle_plot = ", '' using 3:xtic(1) title 'settle'" if r.get("settle_latency") else ""
        gnuplot(f"""set terminal svg size 640,400 dynamic background rgb 'white'
set output '{svg}'
set title 'latency percentiles: {name}'
set ylabel 'ms (log)'; set logscale y; set grid ytics
set style data histograms; set style histogram clustered gap 1
set style fill solid 0.8 border -1; set boxwidth 0.9; set yrange [0.01:*]
plot '{dat}' using 2:xtic(1) title 'accept'{settle_plot}
""")
        made.append((f"Latency percentiles, {name}", f"latency-{name}.svg"))
    return made


def load_curve(res):
    """[(factor, offered/s, surge-bench report)] of the offered-load curve."""
    rows = []
    try:
        with open(os.path.join(res, "curve.tsv")) as f:
            for line in f:
                if "\t" not in line:
                    continue
                factor, rate = line.split("\t")
                r = load(os.path.join(res, f"curve-{factor}.json"))
                if r:
                    rows.append((float(factor), float(rate), r))
    except OSError:
        pass
    return rows


def curve_section(res, curve, rel):
    """The offered-load curve: table and plot (issue 13 §4)."""
    if not curve:
        return []
    dat = os.path.join(res, "curve.dat")
    L = ["## Offered load vs accepted, refused, decided and settle p99\n",
         "Open-loop orders at multiples of the closed-loop orders' decided rate, admission on "
         "(the server's defaults, `--max_decision_delay_ms=3000` and `--max_decision_lag=100000`). "
         "The load generator shares the two cores with the server. A refused call is answered "
         "`RESOURCE_EXHAUSTED` at once; settle latency is measured over the accepted orders. "
         "Each run settles before the next starts.\n",
         "| offered (× decided rate) | offered/s | answered/s | accepted/s | refused/s | "
         "decided/s | settle p50 | settle p99 | settle max | settle p99, server clock | "
         "accept p99 |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    with open(dat, "w") as f:
        for factor, rate, r in curve:
            secs = r["seconds"] or 1
            refused = r["errors"].get("RESOURCE_EXHAUSTED", 0) / secs
            st = r.get("settle_latency") or {}
            p50, p99, mx = (st.get(k, 0) / 1000 for k in ("p50_us", "p99_us", "max_us"))
            decided = r.get("decided_during_load_per_second") or 0
            server = (r.get("settle_latency_server") or {}).get("p99_us")
            server = "-" if server is None else f"{server / 1000:.1f} ms"
            answered = r["accepted_per_second"] + refused
            L.append(f"| {factor:g} | {fmt(rate)} | {fmt(answered)} | "
                     f"{fmt(r['accepted_per_second'])} | {fmt(refused)} | {fmt(decided)} | "
                     f"{p50:.1f} ms | {p99:.1f} ms | {mx:.1f} ms | {server} | "
                     f"{r['accept_latency']['p99_us'] / 1000:.1f} ms |")
            f.write(f"{rate:.0f} {r['accepted_per_second']:.1f} {refused:.1f} {decided:.1f} "
                    f"{max(p99, 0.01):.3f}\n")
    svg = os.path.join(res, "curve.svg")
    gnuplot(f"""set terminal svg size 800,450 dynamic background rgb 'white'
set output '{svg}'
set title 'orders, open loop: offered load vs accepted, refused, decided and settle p99'
set xlabel 'offered orders/s'; set ylabel 'orders/s'; set y2label 'settle p99, ms (log)'
set logscale y2; set ytics nomirror; set y2tics; set grid; set key top left
plot '{dat}' using 1:2 with linespoints title 'accepted/s', \
     '' using 1:3 with linespoints title 'refused/s (RESOURCE_EXHAUSTED)', \
     '' using 1:4 with linespoints title 'decided/s (while the load ran)', \
     '' using 1:5 axes x1y2 with linespoints dashtype 2 title 'settle p99 (right axis)'
""")
    L.append("")
    L.append(f"![offered load curve]({rel}/curve.svg)\n")
    L.append("decided/s here is every decision seen while the load ran, over its length. "
             "answered/s (accepted + refused) below offered/s means the load generator, on the "
             "same two cores, could not start the calls on schedule: its lag is in the accept "
             "latency (measured from each call's scheduled time). settle is measured by the "
             "client, from reading the accept reply to reading the decision on its Subscribe "
             "stream; the server-clock column is the same orders from the command's commit to "
             "the decision's commit (the events' recorded_at), which the client's own delays do "
             "not inflate.\n")
    return L


def fmt(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return None if not a or not b else a / b


def verdict(ok):
    return "n/a" if ok is None else ("**pass**" if ok else "**MISS**")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    res = a.results
    runs = {n: load(os.path.join(res, n + ".json")) for n in SCENARIOS}
    naive = load(os.path.join(res, "naive-put.json"))
    server = load(os.path.join(res, "server.json")) or {}
    redis = redis_figures(res, "redis")
    redis_aof = redis_figures(res, "redis-aof")
    codec = load(os.path.join(res, "codec.json"))
    micro = [m for m in (codec, load(os.path.join(res, "projection.json")),
                         load(os.path.join(res, "append.json"))) if m]
    m = machine(a.root)
    # The run's own commit and time (run.json), not the report's.
    run = load(os.path.join(res, "run.json"))
    if run:
        m.update({k: run[k] for k in ("commit", "date") if k in run})
    pictures = plots(res, runs)

    def tput(name):
        r = runs.get(name)
        return r["accepted_per_second"] if r else None

    noop, orders, flash, mixed = tput("noop"), tput("orders"), tput("flash-sale"), tput("mixed")
    naive_rate = naive["puts_per_second"] if naive else None
    rel = os.path.relpath(res, os.path.dirname(os.path.abspath(a.out)))
    L = []
    L.append("# surge benchmarks\n")
    L.append("Generated by `bench/run.sh` (do not edit by hand). Client, server and baselines ran "
             "on the same machine in one run, all on loopback; quote the **ratios**.\n")
    L.append(f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']:.1f} GiB RAM, "
             f"Linux {m['kernel']}")
    L.append(f"- commit: `{m['commit']}`, date: {m['date']}")
    L.append(f"- concurrency: {a.concurrency} calls in flight; surge-server with "
             "`--durability=sync` (every acknowledged command fsynced), embedded Kafka")
    load_avg = load(os.path.join(res, "load.json"))
    if load_avg:
        L.append(f"- machine load (1-min load average, {m['nproc']} CPUs): {load_avg['load_start']} "
                 f"at the start, {load_avg['load_end']} at the end (the end includes the "
                 "benchmark's own load)"
                 + (" — **busy machine**: other work shared the CPUs, absolute figures are low"
                    if load_avg["load_start"] > 2 else ""))
    try:
        with open(os.path.join(res, "phases.tsv")) as f:
            phases = [line.rstrip("\n").split("\t") for line in f if "\t" in line]
        L.append("- load average (1 min) as each phase started, once the machine had settled "
                 "(sync, then up to 30 s until both CPUs were ≥ 90% idle over a second: the "
                 "seconds waited and the idle share reached): "
                 + ", ".join(f"{name} {value}" for name, value in phases))
    except OSError:
        pass
    try:
        with open(os.path.join(res, "steal.tsv")) as f:
            marks = [line.rstrip("\n").split("\t") for line in f if line.count("\t") == 2]
        shares = []
        for (name, s0, t0), (_, s1, t1) in zip(marks, marks[1:]):
            total = int(t1) - int(t0)
            if total > 0:
                shares.append(f"{name} {100 * (int(s1) - int(s0)) / total:.1f}%")
        if shares:
            L.append("- CPU time the hypervisor gave to other guests while each phase ran "
                     "(steal, from /proc/stat; figures drop as it rises): " + ", ".join(shares))
    except (OSError, ValueError):
        pass
    run_info = run or {}
    if run_info.get("quick"):
        L.append(f"- **quick mode** (`BENCH_QUICK=1`): {run_info.get('duration')} phases, "
                 f"{run_info.get('flash_requests'):,}-request flash sales, "
                 f"{run_info.get('fill_commands'):,} commands before RSS and restart")
    else:
        L.append(f"- full mode: {run_info.get('duration', '?')} phases, "
                 f"{run_info.get('flash_requests', 0):,}-request flash sales, "
                 f"{run_info.get('fill_commands', 0):,} commands before RSS and restart")
    if run_info.get("dirty"):
        L.append("- the sources differed from the commit when the run started (uncommitted edits; "
                 "the binaries were built from the working tree)")
    if server.get("batches"):
        L.append(f"- group commit: {server['batch_appends']:,} appends in {server['batches']:,} "
                 f"synced WriteBatches over the scenarios (mean "
                 f"{server['batch_appends'] / server['batches']:.1f} appends per fsync)")
    L.append("")

    L.append("## surge-bench scenarios\n")
    L.append("| scenario | mode | accepted/s | decided/s | accept p50 | p90 | p99 | p99.9 | max "
             "| settle p50 | settle p99 | settle p99.9 | settle max | errors | check |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for name in SCENARIOS:
        r = runs.get(name)
        if not r:
            failed = load(os.path.join(res, name + ".failed.json"))
            why = (f"failed, exit {failed['exit']}: " + failed["stderr"].strip().replace("\n", " ")
                   .replace("|", "/")) if failed else "not run"
            L.append(f"| {name} | {why} | | | | | | | | | | | | | |")
            continue
        acc = r["accept_latency"]
        st = r.get("settle_latency")
        ms = lambda v: f"{v / 1000:.2f} ms"
        settle = [ms(st[k]) for k in ("p50_us", "p99_us", "p999_us", "max_us")] if st else ["-"] * 4
        errs = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "none"
        check = ("ok" if r["check_ok"] else "**VIOLATED**") + f": {r['check']}"
        mode = r["mode"] + (f" @{r['rate']:.0f}/s" if r["mode"] == "open" else "")
        decided = fmt(r["decided_per_second"]) if st and r.get("decided") else "-"
        L.append(f"| {name} | {mode} | {fmt(r['accepted_per_second'])} | {decided} | {ms(acc['p50_us'])} | "
                 f"{ms(acc['p90_us'])} | {ms(acc['p99_us'])} | {ms(acc['p999_us'])} | "
                 f"{ms(acc['max_us'])} | " + " | ".join(settle) + f" | {errs} | {check} |")
    L.append("")
    L.append("decided/s: the scenario's measured commands decided (confirmed, cancelled, issued "
             "or rejected in the log), over the time from the first measured call until the last "
             "of them was decided; a call a database decides inside its transaction counts the "
             "same way.\n")
    for name in SCENARIOS:
        r = runs.get(name)
        sv = (r or {}).get("settle_latency_server")
        if sv:
            L.append(f"- {name}: settle on the server's clock (command commit to decision "
                     f"commit): p50 {sv['p50_us'] / 1000:.2f} ms, p99 {sv['p99_us'] / 1000:.2f} ms, "
                     f"max {sv['max_us'] / 1000:.2f} ms")
        if r and r.get("settle_error"):
            L.append(f"- {name}: settle measurement: {r['settle_error']}")
        if r and r.get("decided"):
            L.append(f"- {name}: {r['decided']:,} decided, {fmt(r['decided_per_second'])}/s until "
                     f"the last; {fmt(r.get('decided_during_load_per_second'))}/s decisions while "
                     f"the load ran")
    L.append("")

    pg_passes = [(label, f) for label, f in
                 [("before surge's scenarios", pg_figures(res, "pg")),
                  ("after them", pg_figures(res, "pg2"))] if f]
    pg = pg_passes[0][1] if pg_passes else None

    def pg_best(key):  # the faster pass: the ratios against it are the conservative ones
        rates = [f[key]["tps"] for _, f in pg_passes if f.get(key) and f[key].get("tps")]
        return max(rates) if rates else None

    def per_pass(rate, key):  # "1.2 × the pass before, 0.9 × the pass after"
        parts = [f"{ratio(rate, f[key]['tps']):.2f} × the pass {when.split()[0]}"
                 for when, f in pg_passes if rate and f.get(key) and f[key].get("tps")]
        return "; " + ", ".join(parts) if len(parts) > 1 else ""
    cpu = {c: cpu_figures(res, c) for c in ("external", "embedded")}
    idle = idle_figures(res, "idle-embedded")
    idle_fresh = idle_figures(res, "cpu-embedded-idle")
    idle_ext = idle_figures(res, "cpu-external-idle")

    L.append("## Baselines\n")
    L.append("| baseline | figure |")
    L.append("|---|---|")
    L.append(f"| 1. gRPC ceiling (health Check, same client) | {fmt(noop)} calls/s |")
    if naive:
        L.append(f"| 2. naive synced RocksDB put per command, {naive['threads']} threads, "
                 f"{naive['value_bytes']}-byte values | {fmt(naive_rate)} puts/s "
                 f"(p50 {naive['p50_us'] / 1000:.2f} ms, p99 {naive['p99_us'] / 1000:.2f} ms) |")
    for label, rd in [("3. Redis + Lua first-come check (no persistence)", redis),
                      ("3b. the same, AOF appendfsync always (durable)", redis_aof)]:
        if rd:
            L.append(f"| {label}, redis-benchmark EVALSHA -c {a.concurrency} | {fmt(rd['rps'])} "
                     f"req/s (p50 {rd['p50_ms']:.2f} ms, p99 {rd['p99_ms']:.2f} ms; issued "
                     f"{rd['issued']} to {rd['users_served']} users) |")
    for when, p in pg_passes:
        for label, key, what in [("4. PostgreSQL transactional outbox, orders", "orders", "orders"),
                                 ("4b. PostgreSQL transactional outbox, coupon requests",
                                  "coupons", "requests")]:
            f = p[key]
            if f and f.get("tps"):
                cpu_note = ""
                if f.get("clk_tck") and f.get("processed"):
                    cpu_note = (f"; server CPU {f['server_cpu_ticks'] / f['clk_tck'] / f['processed'] * 1e6:.0f} "
                                "µs per transaction, connections included")
                L.append(f"| {label}, pgbench -c {a.concurrency} -M prepared, {when} | "
                         f"{fmt(f['tps'])} {what}/s (p50 {f['p50_ms']:.2f} ms, p99 "
                         f"{f['p99_ms']:.2f} ms; {f['processed']:,} transactions, "
                         f"{f['failed']} failed{cpu_note}) |")
            else:
                L.append(f"| {label}, {when} | failed (see bench/results/) |")
    L.append("")

    # ---- issue 13's targets
    orders_run, fs = runs.get("orders"), runs.get("flash-sale")
    orders_decided = orders_run.get("decided_per_second") if orders_run and orders_run.get("decided") else None
    flash_decided = fs.get("decided_per_second") if fs and fs.get("decided") else None
    pg_orders = pg_best("orders")
    pg_coupons = pg_best("coupons")
    L.append("## The targets of issue 13 (ratios from this run)\n")
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    q = ratio(orders_decided, pg_orders)
    L.append(f"| surge orders decided/s ≥ 3 × PostgreSQL outbox orders/s (the faster of its "
             f"two passes) | {fmt(q, 2)} × "
             f"({fmt(orders_decided)} decided/s, {fmt(orders)} accepted/s; PostgreSQL "
             f"{fmt(pg_orders)} tps{per_pass(orders_decided, 'orders')}) | "
             f"{verdict(None if q is None else q >= 3)} |")
    q = ratio(flash_decided, pg_coupons)
    L.append(f"| surge coupon requests/s ≥ 2 × PostgreSQL outbox coupon requests/s (the faster "
             f"of its two passes) | {fmt(q, 2)} × "
             f"({fmt(flash_decided)} decided/s, {fmt(flash)} accepted/s; PostgreSQL "
             f"{fmt(pg_coupons)} tps{per_pass(flash_decided, 'coupons')}) | "
             f"{verdict(None if q is None else q >= 2)} |")
    for config, label in [("external", "production-like: surge-kafka-dev in its own process"),
                          ("embedded", "embedded broker, reported next to it")]:
        c = cpu.get(config) or {}
        base = c.get("noop")
        for scen, what, limit in [("orders", "order", 3), ("flash-sale", "coupon request", 1.5)]:
            if base and c.get(scen) and base["net_us"] > 0:
                m = c[scen]["us"] / base["net_us"]
                L.append(f"| server CPU per {what} ≤ {limit:g} × one no-op call ({label}) | "
                         f"{m:.1f} × ({c[scen]['us']:.0f} µs / {base['net_us']:.1f} µs; "
                         f"{c[scen]['us'] / base['us']:.1f} × against the no-op call with the "
                         f"idle background in, {base['us']:.1f} µs) | {verdict(m <= limit)} |")
            else:
                L.append(f"| server CPU per {what} ≤ {limit:g} × one no-op call ({label}) | "
                         f"not measured | n/a |")
    if idle:
        L.append(f"| idle surge-server, embedded broker, ≤ 1% of a core (over "
                 f"{idle['seconds']:.0f} s after the scenarios) | {idle['pct']:.1f}% | "
                 f"{verdict(idle['pct'] <= 1)} |")
    op = runs.get("orders-open")
    if op and op.get("settle_latency"):
        p99 = op["settle_latency"]["p99_us"] / 1000
        L.append(f"| settle p99 ≤ 15 ms at half the maximum (open loop {op['rate']:.0f}/s) | "
                 f"{p99:.1f} ms | {verdict(p99 <= 15)} |")
    if orders_run and orders_run.get("settle_latency"):
        p99 = orders_run["settle_latency"]["p99_us"] / 1000
        L.append(f"| settle p99 ≤ 100 ms, closed loop at full load (orders) | {p99:.1f} ms | "
                 f"{verdict(p99 <= 100)} |")
    curve = load_curve(res)
    if curve:
        worst = max(curve, key=lambda c: (c[2].get("settle_latency") or {}).get("p99_us", 0))
        p99 = (worst[2].get("settle_latency") or {}).get("p99_us", 0) / 1000
        refused = sum(c[2]["errors"].get("RESOURCE_EXHAUSTED", 0) for c in curve)
        server_p99s = [(c[0], (c[2].get("settle_latency_server") or {}).get("p99_us"))
                       for c in curve]
        server_p99s = [(f, v / 1000) for f, v in server_p99s if v is not None]
        server_note = ""
        if server_p99s:
            f, v = max(server_p99s, key=lambda x: x[1])
            server_note = f"; on the server's clock worst {v:.1f} ms at {f:g} ×"
        L.append(f"| settle latency bounded at any offered load: settle p99 ≤ 100 ms on every "
                 f"point of the curve (open loop, {curve[0][0]:g}-{curve[-1][0]:g} × the decided "
                 f"rate), the excess refused with RESOURCE_EXHAUSTED | worst {p99:.1f} ms at "
                 f"{worst[0]:g} ×{server_note}; {refused:,} calls refused over the curve | "
                 f"{verdict(p99 <= 100)} |")
    if fs:
        ok = fs["check_ok"] and fs["undecided"] == 0 and fs["drain_ms"] <= 1000
        if fs.get("settle_latency") is None:
            ok = None  # run with --settle=false: nothing decided was measured
        L.append(f"| kept: flash sale ({fs['accepted']:,} accepted): every request decided ≤ 1 s after "
                 f"the last accept; exactly Q issued | drain {fs['drain_ms']:.0f} ms, "
                 f"{fs['undecided']} undecided; {fs['check']} | {verdict(ok)} |")
    elif os.path.exists(os.path.join(res, "flash-sale.failed.json")):
        L.append("| kept: flash sale: every request decided ≤ 1 s after the last accept | run failed "
                 "(see the table above) | **MISS** |")
    if server.get("rss_kib"):
        total = (sum(r["accepted"] for n, r in runs.items() if r and n != "noop")
                 + sum(r["accepted"] for _, _, r in load_curve(res)) + server.get("fill_accepted", 0))
        rss = server["rss_kib"] / 1024
        before = server.get("rss_scenarios_kib", 0) / 1024
        L.append(f"| kept: RSS ≤ 300 MiB after 1,000,000 commands | {rss:.0f} MiB after ~{total:,} "
                 f"commands{memory_note(server.get('memory'))} ({before:.0f} MiB after the scenarios, "
                 f"before the fill{memory_note(server.get('memory_scenarios'))}) | "
                 f"{verdict(rss <= 300) if total >= 1_000_000 else 'partial: ' + verdict(rss <= 300)} |")
    if server.get("restart_seconds") is not None:
        events = server.get("head_events", 0)
        ok = server["restart_seconds"] <= 2
        L.append(f"| kept: restart to serving ≤ 2 s (1,000,000 events) | {server['restart_seconds']:.2f} s "
                 f"to serving, {server.get('restart_first_call_seconds', 0):.2f} s to the first "
                 f"answered call, log of {events:,} events | "
                 f"{verdict(ok) if events >= 1_000_000 else 'partial: ' + verdict(ok) + ' (smaller log)'} |")
    L.append("")

    L.append("Other ratios from the same run, no target (issue 5's ratio targets were replaced by "
             "the ones above):\n")
    L.append("| ratio | measured |")
    L.append("|---|---|")
    for name, t in [("orders accepted", orders), ("flash-sale accepted", flash)]:
        L.append(f"| {name} / gRPC no-op ceiling | {fmt(ratio(t, noop), 2)} × |")
    for name, t in [("orders accepted", orders), ("flash-sale accepted", flash)]:
        L.append(f"| {name} / naive synced puts | {fmt(ratio(t, naive_rate), 2)} × |")
    for label, rd in [("Redis + Lua, AOF appendfsync always", redis_aof),
                      ("Redis + Lua, no persistence", redis)]:
        L.append(f"| flash-sale decided / {label} | "
                 f"{fmt(ratio(flash_decided, rd['rps'] if rd else None), 2)} × |")
    L.append(f"| orders accepted / PostgreSQL orders | {fmt(ratio(orders, pg_orders), 2)} × |")

    def pg_cpu_us(key):  # the lower of the passes' server CPU per transaction
        v = [f[key]["server_cpu_ticks"] / f[key]["clk_tck"] / f[key]["processed"] * 1e6
             for _, f in pg_passes if f.get(key) and f[key].get("clk_tck") and f[key].get("processed")]
        return min(v) if v else None
    for what, scen, key in [("order", "orders", "orders"), ("coupon request", "flash-sale", "coupons")]:
        for config, label in [("external", "surge-kafka-dev"), ("embedded", "embedded broker")]:
            c = (cpu.get(config) or {}).get(scen)
            pu = pg_cpu_us(key)
            if c and pu:
                L.append(f"| server CPU per {what}: surge ({label}, full load) / PostgreSQL (the "
                         f"lower pass) | {c['us'] / pu:.2f} × ({c['us']:.0f} µs / {pu:.0f} µs) |")
    L.append("")

    if pg:
        L.append("## PostgreSQL outbox peer: invariants after each pass\n")
        L.append(f"PostgreSQL {pg['settings'].split(' ')[0] if pg['settings'] else '?'} from Debian, "
                 "initdb in a temp dir, one loopback port, `fsync=on`, `synchronous_commit=on` "
                 f"(as shown by the server: `{pg['settings']}`), default everything else; "
                 f"pgbench -c {a.concurrency} -j 2 -M prepared. Orders: one transaction of a "
                 "conditional `UPDATE stock ... WHERE available >= qty`, the order row and its "
                 "outbox row (bench/pg/orders.sql). Coupons: one call of the PL/pgSQL "
                 "`request_coupon()` (bench/pg/schema.sql), same shape as surge's flash sale "
                 "(requests, users, coupons). Checked in SQL afterwards (bench/pg/check.sql):\n")
        L.append("| pass | invariant | detail | verdict |")
        L.append("|---|---|---|---|")
        for when, p in pg_passes:
            for name, ok, detail in p["checks"]:
                L.append(f"| {when} | {name} | {detail} | {verdict(ok)} |")
            if not p["checks"]:
                L.append(f"| {when} | (the checks did not run) | | **MISS** |")
        L.append("")

    # ---- CPU per command
    if any(cpu.values()):
        L.append("## Server CPU per command, as a multiple of one no-op gRPC call\n")
        L.append("Each configuration on a fresh server: an idle window, then a closed loop of "
                 "no-op calls, of orders and a flash sale, each measured from /proc (utime + stime "
                 "of the whole surge-server) from before the load until the pipeline was quiet "
                 "again (every decision made, nothing left to relay or consume), divided by the "
                 "calls made. The client ran accept side only (no Subscribe stream, no log check: "
                 "they would cost the server CPU of their own). The no-op call is counted net of "
                 "the idle background (the same server's idle rate times the window; the Kafka "
                 "threads poll the same way during no-op calls as when idle), the commands with "
                 "it in (under load the polling threads carry the commands' messages instead): "
                 "the multiple is therefore not flattered.\n")
        L.append("| configuration | no-op call (net of idle) | no-op call (raw) | order | × no-op | "
                 "coupon request | × no-op | broker process per order / coupon |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for config, label in [("external", "surge-kafka-dev in its own process"),
                              ("embedded", "embedded broker")]:
            c = cpu.get(config) or {}
            if not c.get("noop"):
                continue
            base = c["noop"]["net_us"] or c["noop"]["us"]
            cells = []
            for scen in ("orders", "flash-sale"):
                if c.get(scen):
                    cells += [f"{c[scen]['us']:.0f} µs", f"{c[scen]['us'] / base:.1f} ×"]
                else:
                    cells += ["-", "-"]
            broker = (f"{c['orders']['broker_us']:.0f} µs / {c['flash-sale']['broker_us']:.0f} µs"
                      if config == "external" and c.get("orders") and c.get("flash-sale") else "-")
            L.append(f"| {label} | {base:.1f} µs | {c['noop']['us']:.1f} µs | " + " | ".join(cells)
                     + f" | {broker} |")
        L.append("")
        for config, label in [("external", "surge-kafka-dev in its own process"),
                              ("embedded", "embedded broker")]:
            c = cpu.get(config) or {}
            if not c:
                continue
            runs_line = ", ".join(f"{what}s: {c[s]['calls']:,} in {c[s]['seconds']:.1f} s"
                                  for s, what in CPU_SCENARIOS if c.get(s))
            L.append(f"Per thread, {label} (µs of server CPU per call, idle background "
                     f"included; {runs_line}; `#` stands for a number):\n")
            L.append("| thread | per no-op call | per order | per coupon request |")
            L.append("|---|---:|---:|---:|")
            groups = set()
            for s, _ in CPU_SCENARIOS:
                groups |= set((c.get(s) or {}).get("threads", {}))
            def us(s, g):
                return (c.get(s) or {}).get("threads", {}).get(g, 0)
            totals = {s: sum((c.get(s) or {}).get("threads", {}).values()) or 1 for s, _ in CPU_SCENARIOS}
            shown = [g for g in groups
                     if any(us(s, g) / totals[s] >= 0.01 for s, _ in CPU_SCENARIOS)]
            for g in sorted(shown, key=lambda g: -us("orders", g)):
                L.append(f"| `{g}` | {us('noop', g):.1f} | {us('orders', g):.0f} | "
                         f"{us('flash-sale', g):.0f} |")
            L.append(f"| all threads alive at the end | {totals['noop']:.1f} | "
                     f"{totals['orders']:.0f} | {totals['flash-sale']:.0f} |")
            L.append("")

    if idle:
        L.append("## Idle cost\n")
        L.append(f"surge-server with the embedded broker, no client, over {idle['seconds']:.0f} s "
                 f"once the pipeline was quiet after the scenarios: **{idle['pct']:.1f}% of one "
                 "core** (utime + stime from /proc).")
        if idle_fresh:
            L.append(f"The same on a fresh server (empty log, before the CPU runs above), over "
                     f"{idle_fresh['seconds']:.0f} s: {idle_fresh['pct']:.1f}%.")
        if idle_ext:
            L.append(f"Against surge-kafka-dev (its own process, `--kafka_fetch_wait_ms=1`), fresh, "
                     f"over {idle_ext['seconds']:.0f} s: the server {idle_ext['pct']:.1f}%, the "
                     f"broker process {fmt(idle_ext['broker_pct'], 1)}% of one core.")
        L.append("")
        cols = [("embedded, after the scenarios", idle), ("embedded, fresh", idle_fresh),
                ("external broker, fresh (server only)", idle_ext)]
        cols = [(t, d) for t, d in cols if d]
        L.append("| thread (% of one core) | " + " | ".join(t for t, _ in cols) + " |")
        L.append("|---|" + "---:|" * len(cols))
        groups = set()
        for _, d in cols:
            groups |= set(d["threads"])
        for g in sorted(groups, key=lambda g: -idle["threads"].get(g, 0)):
            vals = [d["threads"].get(g, 0) for _, d in cols]
            if max(vals) < 0.05:
                continue
            L.append(f"| `{g}` | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
        L.append("| whole process | " + " | ".join(f"{d['pct']:.2f}" for _, d in cols) + " |")
        L.append("")

    L.extend(curve_section(res, load_curve(res), rel))
    L.extend(open_loop_breakdown(res, runs.get("orders-open")))
    if micro:
        L.append("## Microbenchmarks (Google Benchmark)\n")
        L.append("Event encode/decode, projection apply (pure handler over the overlay, batches "
                 "of 100, in memory) and append through the group commit (64 threads; "
                 "`batch_appends_avg` is appends per WriteBatch).\n")
        L.append("| benchmark | time/op | counters |")
        L.append("|---|---:|---|")
        for m in micro:
            for b in m.get("benchmarks", []):
                extra = ", ".join(f"{k}={v:,.1f}" for k, v in b.items()
                                  if k in ("batch_appends_avg", "items_per_second"))
                L.append(f"| {b['name']} | {b['real_time']:.0f} {b['time_unit']} | {extra} |")
        L.append("")

    if pictures:
        L.append("## Plots\n")
        for title, f in pictures:
            L.append(f"- [{title}]({rel}/{f})")
        L.append("")
        L.append(f"![throughput]({rel}/throughput.svg)\n")

    # Hand-written analysis of the misses (profiles), kept next to the script
    # so a re-run keeps it; it names the run it was written against.
    notes = os.path.join(a.root, "bench", "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            L.append(f.read())

    with open(a.out, "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
