"""Turns bench/run.sh's results.jsonl into the Markdown table of BENCHMARKS.md, checking that
pec and DuckDB gave the same answers. Exits 1 if any answer differs."""
import json
import os
import platform
import subprocess
import sys

results = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    results[r["name"]] = r["result"]
duckdb_version = sys.argv[2]
failures = []


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


model = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
mem = sh("free -h | awk '/^Mem:/ {print $2}'")
print(f"Machine: {model}, {os.cpu_count()} cores (nproc {sh('nproc')}), {mem} RAM, "
      f"{platform.system()} {platform.release()}; DuckDB {duckdb_version} (Python); "
      f"load average at the end: {' '.join(open('/proc/loadavg').read().split()[:3])}")
print()

ours = results.get("ingest.pec")
if ours:
    mb = ours["bytes"] / 1e6
    print(f"### 1. Ingest: one usage file, {mb:,.0f} MB, {ours['rows']:,} rows, "
          f"{ours['groups']:,} resource-day groups")
    print()
    print("| run | seconds | MB/s | rows/s | pec is × faster | same answer |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| pec (reader + ingestion aggregation, exact) | {ours['seconds']:.2f} | "
          f"{mb / ours['seconds']:.0f} | {ours['rows'] / ours['seconds']:,.0f} | | |")
    base = results.get("ingest.baseline")
    if base:
        print(f"| pec, baseline build (before the optimisations) | {base['seconds']:.2f} | "
              f"{mb / base['seconds']:.0f} | {base['rows'] / base['seconds']:,.0f} | "
              f"{base['seconds'] / ours['seconds']:.2f} | "
              f"{'yes' if base['listAmount'] == ours['listAmount'] else 'NO'} |")
    for name, label in [("ingest.duckdb.decimal.t1", "DuckDB DECIMAL(38,12), threads=1"),
                        ("ingest.duckdb.decimal.all", "DuckDB DECIMAL(38,12), all threads"),
                        ("ingest.duckdb.auto.all", "DuckDB auto types (DOUBLE), all threads")]:
        d = results.get(name)
        if not d:
            continue
        exact = "auto" not in name
        same = d["groups"] == ours["groups"] and (
            (d["listAmount"], d["microsoftCredit"]) == (ours["listAmount"], ours["microsoftCredit"])
            if exact else
            abs(float(d["listAmount"]) - float(ours["listAmount"])) < 1e-6 * abs(float(ours["listAmount"])) + 1e-6)
        if not same:
            failures.append(f"{name}: {d} vs {ours}")
        print(f"| {label} | {d['seconds']:.2f} | {mb / d['seconds']:.0f} | "
              f"{ours['rows'] / d['seconds']:,.0f} | {d['seconds'] / ours['seconds']:.2f} | "
              f"{'yes' if same else 'NO'}{'' if exact else ' (to float precision)'} |")
    print()
    print("| upload (`pec usage upload`, SQLite store) | bytes | wall | peak RSS | status |")
    print("|---|---:|---:|---:|---|")
    for name in ["upload.usage.csv", "upload.usage.csv.gz"]:
        u = results.get(name)
        if u:
            print(f"| {name[7:]} | {u['bytes'] / 1e6:,.0f} MB | {u['wall']} | "
                  f"{u['maxRssKiB'] / 1024:.1f} MiB | {u['status']} |")
    print()

engine = sorted((int(k.split(".")[-1]), v) for k, v in results.items() if k.startswith("engine.pec."))
if engine:
    print("### 2. Settlement engine (coverage + value of each resource-day)")
    print()
    print("| resource-days | intervals | pec s | pec rd/s | DuckDB t=1 s | × | DuckDB all s | × | same answer |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n, ours in engine:
        t1 = results.get(f"engine.duckdb.t1.{n}")
        al = results.get(f"engine.duckdb.all.{n}")
        same = all(d and d["counts"] == ours["counts"] and d["earned"] == ours["earned"]
                   and d["lost"] == ours["lost"] for d in (t1, al))
        if not same:
            failures.append(f"engine {n}: {ours} vs {t1} / {al}")
        f = lambda d: (f"{d['seconds']:.2f} | {d['seconds'] / ours['seconds']:.1f}" if d else "– | –")
        print(f"| {n:,} | {ours['intervals']:,} | {ours['seconds']:.2f} | "
              f"{ours['resourceDaysPerSecond']:,.0f} | {f(t1)} | {f(al)} | {'yes' if same else 'NO'} |")
    print()
    for n, ours in engine:
        mt = results.get(f"engine.pecmt.{n}")
        al = results.get(f"engine.duckdb.all.{n}")
        if mt:
            same = mt["counts"] == ours["counts"] and mt["earned"] == ours["earned"] and mt["lost"] == ours["lost"]
            if not same:
                failures.append(f"engine {n} on {mt['threads']} threads: {mt} vs {ours}")
            vs = f", {al['seconds'] / mt['seconds']:.1f}× DuckDB all threads" if al else ""
            print(f"pec on {mt['threads']} threads at {n:,}: {mt['seconds']:.2f} s, "
                  f"{mt['resourceDaysPerSecond']:,.0f} rd/s{vs} (same answer: {'yes' if same else 'NO'}).")
            print()
    for n, ours in engine:
        base = results.get(f"engine.baseline.{n}")
        if base:
            same = base["counts"] == ours["counts"] and base["earned"] == ours["earned"]
            print(f"Baseline build at {n:,}: {base['seconds']:.2f} s, this build is "
                  f"{base['seconds'] / ours['seconds']:.2f}× faster (same answer: {'yes' if same else 'NO'}).")
            print()
    print("Statuses (pec): " + "; ".join(f"{k} {v:,}" for k, v in engine[-1][1]["counts"].items()))
    print()

e2e = results.get("e2e")
if e2e:
    print("### 3. End to end, embedded (files → upload → snapshots → settle → statement)")
    print()
    print("| resources | resource-days | input files | wall | peak RSS (largest process) |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {e2e['resources']:,} | {e2e['resourceDays']:,} | {e2e['files']:,} | {e2e['wall']} | "
          f"{e2e['maxRssKiB'] / 1024:.1f} MiB |")
    print()

nights = results.get("nights")
if nights:
    s = nights["summary"]
    n = nights["nights"]
    print(f"### 4. Night by night: {s['resources']:,} resources, {s['nights']} nights")
    print()
    print("| night | settle | entries appended | upload | snapshot posts |")
    print("|---:|---:|---:|---:|---:|")
    for x in n:
        if x["night"] in (1, 2, 10, 20, len(n)):
            print(f"| {x['night']} | {x['settleSeconds']:.2f} s | {x['entriesAppended']:,} | "
                  f"{x['uploadSeconds']:.2f} s | {x['postSeconds']:.2f} s |")
    print()
    night2 = n[1]["settleSeconds"] if len(n) > 1 else None
    ratio = f"{n[-1]['settleSeconds'] / night2:.1f}× night 2" if night2 else "n/a"
    print(f"Settles in all: {s['secondsSettle']:.1f} s; last night {ratio}. Data directory "
          f"{s['dataDirBytes'] / 1e9:.2f} GB for {s['resourceDays']:,} resource-days "
          f"({s['entries']:,} entries): {s['bytesPerResourceDay']:,} bytes per resource-day.")
    print()

uploads = sorted((int(k.split(".")[-1]), v) for k, v in results.items() if k.startswith("upload.pec."))
if uploads:
    print("### 5. The durable upload against DuckDB (the first N rows of one file)")
    print()
    print("| rows | file | pec usage upload (committed, synced) | peak RSS | DuckDB DECIMAL, threads=1 | pec ÷ DuckDB |")
    print("|---:|---:|---:|---:|---:|---:|")

    def seconds(wall):
        parts = [float(p) for p in wall.split(":")]
        return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))

    first = None
    for rows, u in uploads:
        duck = results.get(f"upload.duckdb.decimal.t1.{rows}", {}).get("seconds")
        ours = seconds(u["wall"])
        ratio = f"{duck / ours:.2f}× as fast" if duck else "n/a"
        print(f"| {rows:,} | {u['bytes'] / 1e6:,.0f} MB | {ours:.2f} s | {u['maxRssKiB'] / 1024:.0f} MiB | "
              f"{duck:.2f} s | {ratio} |" if duck else f"| {rows:,} | | {ours:.2f} s | | | |")
        first = first or (rows, ours)
    if len(uploads) > 1:
        (r0, t0), (r1, u1) = first, uploads[-1]
        t1 = seconds(u1["wall"])
        print()
        print(f"{r1 / r0:.0f}× the rows took {t1 / t0:.1f}× the time.")
    print()

if failures:
    print("ANSWERS DIFFER:", *failures, sep="\n", file=sys.stderr)
    sys.exit(1)
