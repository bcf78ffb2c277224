#!/usr/bin/env python3
"""A generated month played night by night, as a partner runs pec (BENCHMARKS.md, "Night by night").

    python3 bench/nights.py PEC WORKDIR [--seed 42] [--customers 50] [--subscriptions 2]
        [--resources 50] [--days 30] [--start 2026-09-01] [--snapshot-hours 6] [--late-snapshots]

Generates the month with `PEC generate`, then for each usage day D, at (D+1) 02:00 UTC:
posts every snapshot taken since the previous night (`pec access post`, one process each, as a
webhook would deliver them one by one), uploads D's usage file (`pec usage upload`), and runs
`pec settle --through D --now (D+1)T02:00:00Z` with the default look-back. With
--late-snapshots the snapshots of the night's last six hours arrive a night late, so every
resource-day is settled UNKNOWN first and adjusted the next night.

Prints one JSON line per night (seconds of each step, entries appended, the largest RSS of any
`pec` process so far)
and a closing JSON line with the data directory's size and bytes per settled resource-day.
Standard library only; the timings are wall clock (run it on an idle machine).
"""

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import time


def run(cmd, **kw):
    """Runs a pec command; returns (seconds, stdout, peak RSS of the child in KiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    secs = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return secs, out.stdout, max(before, after)


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pec")
    ap.add_argument("workdir")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--customers", type=int, default=50)
    ap.add_argument("--subscriptions", type=int, default=2)
    ap.add_argument("--resources", type=int, default=50)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--start", default="2026-09-01")
    ap.add_argument("--snapshot-hours", type=int, default=6)
    ap.add_argument("--late-snapshots", action="store_true")
    a = ap.parse_args()

    pec = os.path.abspath(a.pec)
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    gen, data = os.path.join(work, "gen"), os.path.join(work, "data")
    run([pec, "generate", "--out", gen, "--seed", str(a.seed), "--partners", "1",
         "--customers", str(a.customers), "--subscriptions", str(a.subscriptions),
         "--resources", str(a.resources), "--start", a.start, "--days", str(a.days),
         "--snapshot-hours", str(a.snapshot_hours)])
    manifest = json.load(open(os.path.join(gen, "manifest.json")))
    partner = manifest["partners"][0]["partnerId"]

    # Every snapshot with its takenAt, in time order.
    snaps = []
    sroot = os.path.join(gen, "snapshots", partner)
    for customer in sorted(os.listdir(sroot)):
        for name in sorted(os.listdir(os.path.join(sroot, customer))):
            path = os.path.join(sroot, customer, name)
            taken = json.load(open(path))["takenAt"]
            snaps.append((dt.datetime.fromisoformat(taken.replace("Z", "+00:00")), path))
    snaps.sort()
    usage_dir = os.path.join(gen, "usage", partner)

    start = dt.date.fromisoformat(a.start)
    posted = 0
    resource_days = set()
    totals = {"post": 0.0, "upload": 0.0, "settle": 0.0}
    lag = dt.timedelta(hours=6) if a.late_snapshots else dt.timedelta(0)
    for n in range(a.days):
        day = start + dt.timedelta(days=n)
        night = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(2, 0),
                                    tzinfo=dt.timezone.utc)
        cutoff = night - lag
        post_secs = 0.0
        while posted < len(snaps) and snaps[posted][0] <= cutoff:
            s, _, _ = run([pec, "--data-dir", data, "access", "post", snaps[posted][1],
                           "--partner", partner, "--now", night.strftime("%Y-%m-%dT%H:%M:%SZ")])
            post_secs += s
            posted += 1
        files = [f for f in os.listdir(usage_dir) if f.startswith(day.isoformat())]
        up_secs = 0.0
        for f in files:
            s, _, _ = run([pec, "--data-dir", data, "usage", "upload",
                           os.path.join(usage_dir, f), "--partner", partner])
            up_secs += s
        now = night.strftime("%Y-%m-%dT%H:%M:%SZ")
        settle_secs, out, rss = run([pec, "--data-dir", data, "settle", "--through",
                                     day.isoformat(), "--now", now])
        summary = json.loads(out)
        totals["post"] += post_secs
        totals["upload"] += up_secs
        totals["settle"] += settle_secs
        print(json.dumps({"night": n + 1, "through": day.isoformat(),
                          "postSeconds": round(post_secs, 2),
                          "uploadSeconds": round(up_secs, 2),
                          "settleSeconds": round(settle_secs, 2),
                          "resourceDays": summary.get("resourceDays"),
                          "entriesAppended": summary.get("entriesAppended"),
                          "maxRssSoFarKiB": rss}), flush=True)

    # What the ledger holds: entries and distinct resource-days (verify counts both).
    _, out, _ = run([pec, "--data-dir", data, "verify"])
    verified = json.loads(out)
    size = dir_bytes(data)
    rd = verified.get("resourceDays") or 0
    print(json.dumps({"summary": True, "nights": a.days,
                      "resources": a.customers * a.subscriptions * a.resources,
                      "lateSnapshots": a.late_snapshots,
                      "secondsPost": round(totals["post"], 1),
                      "secondsUpload": round(totals["upload"], 1),
                      "secondsSettle": round(totals["settle"], 1),
                      "entries": verified.get("entries"), "resourceDays": rd,
                      "dataDirBytes": size,
                      "bytesPerResourceDay": round(size / rd) if rd else None}), flush=True)


if __name__ == "__main__":
    main()
