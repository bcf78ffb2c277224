#!/usr/bin/env bash
# Differential check of the pec pipeline against the independent Python oracle.
#
#   tests/oracle/run.sh PATH/TO/pec SEED [extra `pec generate` options, e.g. --gzip --days 45]
#
# Generates a dataset with `pec generate --seed SEED`, runs the whole pec pipeline (upload every
# usage file in manifest order, post every snapshot, settle every usage date, one statement per
# partner and month), computes the same statements with tests/oracle/pec_oracle.py, and
# compares them figure by figure with tests/oracle/compare.py. Exits non-zero on any
# difference. Set KEEP=1 to keep the work directory; ORACLE_FUZZ=1 to use the edge-case
# scenarios of tests/oracle/fuzz.py instead of `pec generate`.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 PEC_BINARY SEED [generate options...]" >&2
    exit 2
fi
PEC=$(realpath "$1")
SEED=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
export PYTHONDONTWRITEBYTECODE=1
# The run's clock: this machine's (pec refuses a settlement `--now` more than 5 minutes ahead of
# it), after every generated snapshot; the statements are read a minute later (pec refuses an
# `--as-of` more than 5 minutes ahead), after every posting.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
AS_OF=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pec-oracle.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "work directory: $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
GEN=$WORK/gen
DATA=$WORK/data

if [ "${ORACLE_FUZZ:-0}" = 1 ]; then
    # Edge-case scenarios instead of the pec generator (see fuzz.py).
    python3 "$HERE/fuzz.py" --out "$GEN" --seed "$SEED"
else
    "$PEC" generate --out "$GEN" --seed "$SEED" "$@" >/dev/null 2>>"$WORK/pec.log"
fi

# Per partner: id, its usage files and snapshot files (absolute, manifest order), its months;
# and the overall first/last usage date to settle.
python3 - "$GEN" "$WORK" "$HERE" <<'EOF'
import csv, gzip, io, json, os, sys
gen, work = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
from pec_oracle import parse_usage_date
m = json.load(open(os.path.join(gen, "manifest.json")))
dates = set()
with open(os.path.join(work, "partners.txt"), "w") as out:
    for i, p in enumerate(m["partners"]):
        pid = p["partnerId"]
        ab = lambda f: f if os.path.isabs(f) else os.path.join(gen, f)
        usage = [ab(f) for f in p["usageFiles"]]
        snaps = [ab(f) for f in p["snapshotFiles"]]
        months = set()
        for f in usage:
            raw = open(f, "rb").read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            rows = csv.reader(io.StringIO(raw.decode("utf-8-sig", "replace"), newline=""))
            try:
                hdr = [h.strip().lower() for h in next(rows)]
                k = hdr.index("usagedate")
            except (StopIteration, ValueError, csv.Error):
                continue
            try:
                for r in rows:
                    if len(r) > k:
                        d = parse_usage_date(r[k])
                        if d:
                            dates.add(d)
                            months.add(d.strftime("%Y-%m"))
            except csv.Error:
                pass
        open(os.path.join(work, f"usage-{i}.txt"), "w").write("\n".join(usage) + "\n")
        open(os.path.join(work, f"snaps-{i}.txt"), "w").write("\n".join(snaps) + "\n")
        out.write(f"{i} {pid} {' '.join(sorted(months))}\n")
open(os.path.join(work, "range.txt"), "w").write(f"{min(dates)} {max(dates)}\n")
EOF
read -r FROM THROUGH <"$WORK/range.txt"

while read -r I PARTNER MONTHS; do
    while read -r F; do
        # A rejected file (exit 3) is part of the scenario: the oracle ignores it too.
        "$PEC" --data-dir "$DATA" usage upload "$F" --partner "$PARTNER" >>"$WORK/receipts.json" 2>>"$WORK/pec.log" || [ $? -eq 3 ]
    done <"$WORK/usage-$I.txt"
    while read -r F; do
        "$PEC" --data-dir "$DATA" access post "$F" --partner "$PARTNER" --now "$NOW" >>"$WORK/receipts.json" 2>>"$WORK/pec.log" || [ $? -eq 3 ]
    done <"$WORK/snaps-$I.txt"
done <"$WORK/partners.txt"

"$PEC" --data-dir "$DATA" settle --from "$FROM" --through "$THROUGH" --now "$NOW" >"$WORK/settle.json" 2>>"$WORK/pec.log"

STATUS=0
TOTAL=0
while read -r I PARTNER MONTHS; do
    USAGE_ARGS=()
    while read -r F; do USAGE_ARGS+=(--usage "$F"); done <"$WORK/usage-$I.txt"
    SNAP_ARGS=()
    while read -r F; do SNAP_ARGS+=(--snapshot "$F"); done <"$WORK/snaps-$I.txt"
    for MONTH in $MONTHS; do
        OURS=$WORK/ours-$PARTNER-$MONTH.json
        ORACLE=$WORK/oracle-$PARTNER-$MONTH.json
        "$PEC" --data-dir "$DATA" statement --partner "$PARTNER" --month "$MONTH" --as-of "$AS_OF" >"$OURS" 2>>"$WORK/pec.log"
        python3 "$HERE/pec_oracle.py" --partner "$PARTNER" --month "$MONTH" \
            "${USAGE_ARGS[@]}" "${SNAP_ARGS[@]}" >"$ORACLE"
        echo "== partner $PARTNER month $MONTH"
        if OUT=$(python3 "$HERE/compare.py" "$OURS" "$ORACLE"); then
            echo "$OUT"
            N=$(echo "$OUT" | awk '/figures equal/ {print $2}')
            TOTAL=$((TOTAL + N))
        else
            echo "$OUT"
            STATUS=1
        fi
    done
done <"$WORK/partners.txt"

if [ "$STATUS" -ne 0 ]; then
    echo "oracle: DIFFERENCES FOUND (seed $SEED)"
    [ "${KEEP:-0}" = 1 ] || echo "rerun with KEEP=1 to keep $WORK"
    exit 1
fi
echo "oracle: all statements agree, $TOTAL figures equal (seed $SEED)"
