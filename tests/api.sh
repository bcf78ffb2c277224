#!/usr/bin/env bash
# The HTTP API against its contract, on a real `pec serve`:
#   1. with the SPEC's example usage and snapshots loaded (and settled, so statements have figures),
#      the README's signed-request examples (docs/examples/post_snapshot.py, standard library
#      only, and docs/examples/post_snapshot.sh, curl and openssl) are the files themselves, and
#      they work: a snapshot is accepted, sent again it is a duplicate, the statement is read;
#   2. docs/openapi.json is a valid OpenAPI 3.1 document; schemathesis (pinned below) reads it
#      from GET /openapi.json and tests both operations with generated requests, valid and
#      invalid, signed by tests/schemathesis_hooks.py with the partner's secret: every check it has (`--checks all`: no 5xx, every status and
#      Content-Type documented, every response body valid against its schema, invalid requests
#      rejected, valid ones not, missing required headers and wrong methods refused, 405 with
#      Allow, authentication enforced); any failure fails this script;
#   3. the requests really got past the signature: the server's log must show, for the snapshot
#      webhook, 401, 400, 409 and an accepted or duplicate (202/200) snapshot, and for statements
#      200, 400 and 401.
# Each run has a fresh data directory with one partner secret; the server is stopped on exit.
# Installs schemathesis into ${CARGO_TARGET_DIR:-target}/venv on the first run (tests/venv.sh,
# shared with tests/infra.sh). Environment: PEC_API_EXAMPLES (default 50) test cases per operation
# and phase; PEC_API_SEED to repeat a run (schemathesis prints its seed).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/venv.sh

REQUIREMENTS=("schemathesis==4.32.5")
pec_venv_install api "${REQUIREMENTS[@]}"

TARGET="${CARGO_TARGET_DIR:-target}"
cargo build --quiet -p pec-cli --features aws
PEC="$TARGET/debug/pec"
PARTNER=7a3c0000-0000-4000-8000-000000000001
SECRET="whsec_$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
EXAMPLES=fixtures/examples

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Data for statements with figures: the SPEC's example usage and snapshots (all but snapshot-1,
# which the Python example posts; the curl example posts a later copy of snapshot-4).
"$PEC" --data-dir "$WORK/data" partner set-secret "$PARTNER" "$SECRET" >/dev/null
"$PEC" --data-dir "$WORK/data" usage upload "$EXAMPLES/daily-rated-usage.csv" --partner "$PARTNER" >/dev/null
for i in 0 2 3 4; do
  "$PEC" --data-dir "$WORK/data" access post "$EXAMPLES/snapshot-$i.json" --partner "$PARTNER" >/dev/null
done
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
s["snapshotId"] = "5a1e0000-0000-4000-8000-000000000005"
s["takenAt"] = "2026-09-03T12:05:00Z"
json.dump(s, open(sys.argv[2], "w"), indent=2)
' "$EXAMPLES/snapshot-4.json" "$WORK/snapshot-5.json"
"$PEC" --data-dir "$WORK/data" serve --listen 127.0.0.1:0 2>"$WORK/server.log" &
SERVER_PID=$!
URL=
for _ in $(seq 100); do
  URL=$(sed -n 's/^pec serve: listening on \(http:[^ ]*\).*/\1/p' "$WORK/server.log")
  [[ -n "$URL" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "pec serve did not start"; cat "$WORK/server.log"; exit 1; }
echo "== pec serve on $URL (data in $WORK/data)"

echo "== the README's examples: docs/examples/post_snapshot.py and post_snapshot.sh"
python3 - <<'PY'
import sys
readme = open("README.md", encoding="utf-8").read()
for path in ("docs/examples/post_snapshot.py", "docs/examples/post_snapshot.sh"):
    if open(path, encoding="utf-8").read() not in readme:
        sys.exit(f"README.md does not show {path} as it is: update one or the other")
PY
export PEC_WEBHOOK_SECRET="$SECRET"
expect_status() { # WANT OUTPUT
  if [[ "$(head -n 1 <<<"$2")" != "$1" ]]; then
    echo "expected status $1, got:"
    echo "$2"
    exit 1
  fi
}
out=$(python3 docs/examples/post_snapshot.py "$URL" "$PARTNER" "$EXAMPLES/snapshot-1.json")
expect_status 202 "$out"
out=$(python3 docs/examples/post_snapshot.py "$URL" "$PARTNER" "$EXAMPLES/snapshot-1.json")
expect_status 200 "$out"
grep -q '"status":"duplicate"' <<<"$out"
out=$(python3 docs/examples/post_snapshot.py "$URL" "$PARTNER" --statement 2026-09)
expect_status 200 "$out"
grep -q '"month": "2026-09"' <<<"$out"
PEC_WEBHOOK_SECRET=whsec_d3JvbmcgIHNlY3JldCBvZiAzMiBieXRlcyEhISE= \
  python3 docs/examples/post_snapshot.py "$URL" "$PARTNER" "$EXAMPLES/snapshot-2.json" >"$WORK/out" && {
  echo "a request signed with another secret was accepted"
  exit 1
}
expect_status 401 "$(cat "$WORK/out")"
out=$(sh docs/examples/post_snapshot.sh "$URL" "$PARTNER" "$WORK/snapshot-5.json" 2026-09 | tr -d '\r')
grep -q '^HTTP/1.1 202 Accepted$' <<<"$out" || { echo "$out"; exit 1; }
grep -q '^HTTP/1.1 200 OK$' <<<"$out" || { echo "$out"; exit 1; }
grep -qi '^content-type: text/csv; charset=utf-8$' <<<"$out" || { echo "$out"; exit 1; }
echo "   ok: accepted (202), duplicate (200), statement (200), wrong secret (401); curl: 202, CSV statement"
"$PEC" --data-dir "$WORK/data" settle --from 2026-09-01 --through 2026-09-02 --now 2026-09-04T02:00:00Z >/dev/null
out=$(python3 docs/examples/post_snapshot.py "$URL" "$PARTNER" --statement 2026-09)
grep -q '"currency": "USD"' <<<"$out" || { echo "the statement has no figures: $out"; exit 1; }

echo "== docs/openapi.json against the OpenAPI 3.1 schema (as bundled with schemathesis)"
"$PEC_VENV/bin/python" - <<'PY'
import json
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR
OPENAPI_31_VALIDATOR.validate(json.load(open("docs/openapi.json", encoding="utf-8")))
print("   ok")
PY

echo "== schemathesis ${REQUIREMENTS[*]#schemathesis==} against $URL/openapi.json"
seed=()
[[ -n "${PEC_API_SEED:-}" ]] && seed=(--seed "$PEC_API_SEED")
status=0
# From the temporary directory: schemathesis keeps a cache of failures in ./.schemathesis.
ROOT=$(pwd)
SCHEMATHESIS=$(cd "$PEC_VENV" && pwd)/bin/schemathesis
(cd "$WORK" && SCHEMATHESIS_HOOKS="$ROOT/tests/schemathesis_hooks.py" PEC_API_PARTNER="$PARTNER" \
  PEC_API_SECRET="$SECRET" timeout 900 "$SCHEMATHESIS" run "$URL/openapi.json" \
  --checks all \
  --max-examples "${PEC_API_EXAMPLES:-50}" \
  --workers 2 \
  --request-timeout 30 \
  --generation-database none \
  --no-color \
  "${seed[@]}") || status=$?
if ((status != 0)); then
  echo "schemathesis failed (exit $status); the server's log ends with:"
  tail -n 40 "$WORK/server.log"
  exit 1
fi

echo "== statuses the server answered (method, route, status: count)"
python3 - "$WORK/server.log" <<'PY'
import collections
import re
import sys

counts = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.match(r"(\S+) (\S+) (\d{3}) \d+ms", line)
    if not m:
        continue
    method, path, status = m.groups()
    route = ("snapshots" if path.endswith("/access-snapshots")
             else "statements" if "/statements/" in path else path)
    counts[(method, route, int(status))] += 1
for (method, route, status), n in sorted(counts.items()):
    print(f"   {method} {route} {status}: {n}")
need = {
    ("POST", "snapshots"): [401, 400, 409, (200, 202)],
    ("GET", "statements"): [200, 400, 401],
}
missing = []
for (method, route), statuses in need.items():
    for want in statuses:
        want = want if isinstance(want, tuple) else (want,)
        if not any(counts[(method, route, s)] for s in want):
            missing.append(f"{method} {route} {'/'.join(map(str, want))}")
if missing:
    sys.exit("never answered: " + ", ".join(missing) + " (are the requests signed?)")
PY
echo "api: all checks passed"
