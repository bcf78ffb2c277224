"""Load on `pec serve` (RELIABILITY.md, "pec serve under load"): N clients post distinct signed
access snapshots for S seconds while `pec settle` runs over and over on the same data directory;
prints requests per second, p50 and p99 latency, the statuses, and how many accepted snapshots
are missing from the store afterwards (must be 0).

    python3 bench/serve_load.py PEC_BINARY [--clients 16] [--seconds 20]

Standard library only. Signatures are Standard Webhooks (HMAC-SHA256 over
`{id}.{timestamp}.{body}` with the base64 key after `whsec_`).
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

PARTNER = "7a3c0000-0000-4000-8000-000000000001"
SECRET = "whsec_" + base64.b64encode(b"serve load secret, thirty-two b!").decode()
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "fixtures", "examples")


def sign(msg_id, ts, body):
    key = base64.b64decode(SECRET[len("whsec_"):])
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pec")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    pec = os.path.abspath(a.pec)
    data = tempfile.mkdtemp(prefix="pec-serve-load-")
    run = lambda *args: subprocess.run([pec, "--data-dir", data, *args], check=True,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("usage", "upload", os.path.join(EXAMPLES, "daily-rated-usage.csv"), "--partner", PARTNER)
    run("partner", "set-secret", PARTNER, SECRET)
    server = subprocess.Popen([pec, "--data-dir", data, "serve", "--listen", "127.0.0.1:0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    host, port = re.search(r"http://([0-9.]+):(\d+)", line).groups()
    threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
    template = json.load(open(os.path.join(EXAMPLES, "snapshot-0.json")))
    stop = time.monotonic() + a.seconds
    lock = threading.Lock()
    latencies, statuses, accepted = [], {}, []

    def client(n):
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        i = 0
        while time.monotonic() < stop:
            i += 1
            snap = dict(template)
            snap["snapshotId"] = f"load-{n}-{i}"
            snap["takenAt"] = "2026-09-02T%02d:%02d:%02d.%06dZ" % (n % 24, i // 3600 % 60, i % 60, i)
            body = json.dumps(snap).encode()
            ts = int(time.time())
            msg = f"msg-{n}-{i}"
            headers = {"Content-Type": "application/json", "webhook-id": msg,
                       "webhook-timestamp": str(ts), "webhook-signature": sign(msg, ts, body)}
            t0 = time.monotonic()
            try:
                conn.request("POST", f"/v1/partners/{PARTNER}/access-snapshots", body, headers)
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                status = "error"
            dt = time.monotonic() - t0
            with lock:
                latencies.append(dt)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 202:
                    accepted.append(snap["snapshotId"])

    settles = [0]

    def settler():
        while time.monotonic() < stop:
            subprocess.run([pec, "--data-dir", data, "settle", "--from", "2026-09-01",
                            "--through", "2026-09-02", "--full"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            settles[0] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(a.clients)]
    threads.append(threading.Thread(target=settler))
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    server.terminate()
    server.wait(timeout=30)
    stored = subprocess.run(["sqlite3", os.path.join(data, "pec.db"),
                             "SELECT snapshot_id FROM snapshots"], capture_output=True, text=True)
    if stored.returncode != 0:
        sys.exit(f"sqlite3: {stored.stderr}")
    have = set(stored.stdout.split())
    lost = [s for s in accepted if s not in have]
    latencies.sort()
    pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"{a.clients} clients, {elapsed:.1f} s, {settles[0]} settlements alongside: "
          f"{len(latencies) / elapsed:.0f} req/s, p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, "
          f"statuses {statuses}, accepted {len(accepted)}, lost {len(lost)}")
    sys.exit(1 if lost else 0)


main()
