#!/usr/bin/env bash
# Benchmarks of pec-ledger against DuckDB, side by side in one run (BENCHMARKS.md says what each
# figure means). Installs what it needs (DuckDB from PyPI into the shared venv), builds --release,
# generates data with `pec generate` and pec-bench, prints a table with ratios and the machine.
#
#   bench/run.sh                 moderate sizes (about 10-15 minutes on 2 cores)
#   BENCH_SCALE=full bench/run.sh   the issue's sizes: a ~2 GB usage file, 10 M resource-days,
#                                   100,000 resources end to end
#
# BENCH_BASELINE_BIN=DIR (a directory holding an earlier build's pec-bench) also runs that build
# on the same inputs, for before/after ratios of an optimisation.
# BENCH_PARTS="ingest engine e2e nights upload" (the default) selects the parts to run; BENCH_KEEP_RESULTS=1
# adds to the previous run's results instead of starting afresh.
#
# Work files go to $BENCH_DIR (default ${CARGO_TARGET_DIR:-target}/bench), and so do temporary
# files (TMPDIR, DuckDB's spill directory): a 2 GB run never fills /tmp. Generated data is
# deleted as each part ends. The table is also written to $BENCH_DIR/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$TARGET"
TARGET=$(cd "$TARGET" && pwd)
DIR="${BENCH_DIR:-$TARGET/bench}"
DUCKDB_VERSION=1.5.6
PARTS=" ${BENCH_PARTS:-ingest engine e2e nights upload} "
part() { [[ "$PARTS" == *" $1 "* ]]; }

if [[ "${BENCH_SCALE:-}" == "full" ]]; then
  INGEST_CUSTOMERS=1000 INGEST_DAYS=17            # 100,000 resources, ~2 GB in one file
  ENGINE_SIZES="1000000:100000 10000000:1000000"
  E2E_CUSTOMERS=1000                               # 100,000 resources, a month
  NIGHTS_ARGS="--customers 1000 --subscriptions 5 --resources 20"  # 100,000 resources
else
  INGEST_CUSTOMERS=${BENCH_INGEST_CUSTOMERS:-500} INGEST_DAYS=${BENCH_INGEST_DAYS:-4}
  ENGINE_SIZES=${BENCH_ENGINE_SIZES:-"1000000:100000 3000000:300000"}
  E2E_CUSTOMERS=${BENCH_E2E_CUSTOMERS:-50}         # 5,000 resources, a month
  NIGHTS_ARGS=${BENCH_NIGHTS_ARGS:-"--customers 50 --subscriptions 2 --resources 50"}  # 5,000
fi

source tests/venv.sh
pec_venv_install bench "duckdb==$DUCKDB_VERSION"
PY="$PEC_VENV/bin/python"

echo "== cargo build --release"
if part ingest || part e2e || part nights || part upload; then
  cargo build --release --quiet -p pec-cli -p pec-bench
else
  cargo build --release --quiet -p pec-bench # the engine part needs no `pec`
fi
PEC="$TARGET/release/pec"
BENCH="$TARGET/release/pec-bench"
mkdir -p "$DIR/tmp"
export TMPDIR="$DIR/tmp" DUCKDB_TEMP_DIRECTORY="$DIR/tmp/duckdb"
RESULTS="$DIR/results.jsonl"
[[ -n "${BENCH_KEEP_RESULTS:-}" ]] || : >"$RESULTS" # keep: add parts run separately
record() { # name json
  printf '{"name":"%s","result":%s}\n' "$1" "$2" >>"$RESULTS"
  printf '%-28s %s\n' "$1" "$2"
}
concat_usage() { # GEN: every generated usage file as one file (one header)
  local first=1 f
  for f in "$1"/usage/*/*.csv; do
    if [[ $first == 1 ]]; then cat "$f"; first=0; else tail -n +2 "$f"; fi
  done
}
partner_of() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['partners'][0]['partnerId'])" "$1/manifest.json"; }

# ---------------------------------------------------------------------------------------------
if part ingest; then
echo "== 1. ingest: one multi-day usage file ($INGEST_CUSTOMERS customers x 5 subscriptions x 20 resources, $INGEST_DAYS days)"
GEN="$DIR/ingest-gen"
rm -rf "$GEN"
"$PEC" generate --out "$GEN" --partners 1 --customers "$INGEST_CUSTOMERS" --subscriptions 5 \
  --resources 20 --days "$INGEST_DAYS" --snapshot-hours 24 >/dev/null
PARTNER=$(partner_of "$GEN")
FILE="$DIR/usage.csv"
concat_usage "$GEN" >"$FILE"
rm -rf "$GEN"
gzip -1 -c "$FILE" >"$FILE.gz"
ls -la "$FILE" "$FILE.gz"
cat "$FILE" >/dev/null # warm the page cache for every reader alike
record ingest.pec "$("$BENCH" ingest "$FILE" --partner "$PARTNER")"
if [[ -n "${BENCH_BASELINE_BIN:-}" ]]; then
  record ingest.baseline "$("$BENCH_BASELINE_BIN/pec-bench" ingest "$FILE" --partner "$PARTNER")"
fi
record ingest.duckdb.decimal.t1 "$("$PY" bench/duck.py ingest "$FILE" 1 decimal)"
record ingest.duckdb.decimal.all "$("$PY" bench/duck.py ingest "$FILE" all decimal)"
record ingest.duckdb.auto.all "$("$PY" bench/duck.py ingest "$FILE" all auto)"

for f in "$FILE" "$FILE.gz"; do
  data="$DIR/upload-data"
  rm -rf "$data"
  /usr/bin/time -v -o "$DIR/time.txt" "$PEC" --data-dir "$data" usage upload "$f" --partner "$PARTNER" >"$DIR/receipt.json"
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$DIR/time.txt")
  status=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['status'])" "$DIR/receipt.json")
  bytes=$(stat -c %s "$f")
  record "upload.$(basename "$f")" "{\"bytes\":$bytes,\"maxRssKiB\":$rss,\"wall\":\"$wall\",\"status\":\"$status\"}"
done
rm -rf "$DIR/upload-data" "$FILE" "$FILE.gz"
fi

# ---------------------------------------------------------------------------------------------
if part engine; then
echo "== 2. settlement engine (resource-days:intervals = $ENGINE_SIZES)"
for size in $ENGINE_SIZES; do
  n=${size%%:*} m=${size##*:}
  csv="$DIR/engine-$n"
  out=$("$BENCH" settle-engine --resource-days "$n" --assignments "$m" --seed 42 --csv "$csv")
  record "engine.pec.$n" "$out"
  # The same engine on every core, customers shared out among threads as the nightly
  # settlement shares them among its workers: the like-for-like with DuckDB's all threads.
  record "engine.pecmt.$n" "$("$BENCH" settle-engine --resource-days "$n" --assignments "$m" --seed 42 --threads "$(nproc)")"
  if [[ -n "${BENCH_BASELINE_BIN:-}" ]]; then
    record "engine.baseline.$n" "$("$BENCH_BASELINE_BIN/pec-bench" settle-engine --resource-days "$n" --assignments "$m" --seed 42)"
  fi
  rate=$("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['rate'])" "$out")
  record "engine.duckdb.t1.$n" "$("$PY" bench/duck.py settle "$csv" 1 "$rate")"
  record "engine.duckdb.all.$n" "$("$PY" bench/duck.py settle "$csv" all "$rate")"
  rm -rf "$csv"
done
fi

# ---------------------------------------------------------------------------------------------
if part e2e; then
echo "== 3. end to end: a month for $((E2E_CUSTOMERS * 100)) resources, files to statement"
GEN="$DIR/e2e-gen"
rm -rf "$GEN" "$DIR/e2e-data"
"$PEC" generate --out "$GEN" --partners 1 --customers "$E2E_CUSTOMERS" --subscriptions 5 \
  --resources 20 --days 30 --snapshot-hours 24 >/dev/null
PARTNER=$(partner_of "$GEN")
cat >"$DIR/e2e.sh" <<SCRIPT
set -euo pipefail
for f in \$("$PY" -c "import json; m=json.load(open('$GEN/manifest.json'))['partners'][0]; print(' '.join(m['usageFiles']))"); do
  "$PEC" --data-dir "$DIR/e2e-data" usage upload "$GEN/\$f" --partner $PARTNER >/dev/null 2>&1
done
for f in \$("$PY" -c "import json; m=json.load(open('$GEN/manifest.json'))['partners'][0]; print(' '.join(m['snapshotFiles']))"); do
  "$PEC" --data-dir "$DIR/e2e-data" access post "$GEN/\$f" --partner $PARTNER --now 2026-10-02T06:00:00Z >/dev/null 2>&1
done
"$PEC" --data-dir "$DIR/e2e-data" settle --from 2026-09-01 --through 2026-09-30 --now 2026-10-02T06:00:00Z >"$DIR/e2e-settle.json" 2>/dev/null
"$PEC" --data-dir "$DIR/e2e-data" statement --partner $PARTNER --month 2026-09 --as-of 2026-10-02T07:00:00Z >"$DIR/e2e-statement.json"
SCRIPT
/usr/bin/time -v -o "$DIR/time.txt" bash "$DIR/e2e.sh"
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$DIR/time.txt")
rds=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['resourceDays'])" "$DIR/e2e-settle.json")
files=$(find "$GEN" -type f | wc -l)
record e2e "{\"resources\":$((E2E_CUSTOMERS * 100)),\"resourceDays\":$rds,\"files\":$files,\"wall\":\"$wall\",\"maxRssKiB\":$rss}"
rm -rf "$GEN" "$DIR/e2e-data"
fi

# ---------------------------------------------------------------------------------------------
if part nights; then
echo "== 4. night by night: a generated month ($NIGHTS_ARGS), one night at a time"
# shellcheck disable=SC2086
"$PY" bench/nights.py "$PEC" "$DIR/nights" $NIGHTS_ARGS | tee "$DIR/nights.jsonl"
record nights "$("$PY" -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; print(json.dumps({'nights': [x for x in l if 'night' in x], 'summary': l[-1]}))" "$DIR/nights.jsonl")"
rm -rf "$DIR/nights"
fi

# ---------------------------------------------------------------------------------------------
if part upload; then
UPLOAD_ROWS=${BENCH_UPLOAD_ROWS:-"100000 1000000"}
echo "== 5. the durable upload: the first N rows of one file ($UPLOAD_ROWS), pec against DuckDB"
GEN="$DIR/upload-gen"
rm -rf "$GEN"
# 1,000 customers x 5 subscriptions x 20 resources, 7 days: about 1.05 M rows.
"$PEC" generate --out "$GEN" --partners 1 --customers 1000 --subscriptions 5 \
  --resources 20 --days 7 --snapshot-hours 24 >/dev/null
PARTNER=$(partner_of "$GEN")
ALL="$DIR/upload-all.csv"
concat_usage "$GEN" >"$ALL"
rm -rf "$GEN"
for rows in $UPLOAD_ROWS; do
  FILE="$DIR/upload-$rows.csv"
  head -n "$((rows + 1))" "$ALL" >"$FILE"
  cat "$FILE" >/dev/null # warm the page cache for both readers alike
  record "upload.duckdb.decimal.t1.$rows" "$("$PY" bench/duck.py ingest "$FILE" 1 decimal)"
  data="$DIR/upload-data"
  rm -rf "$data"
  /usr/bin/time -v -o "$DIR/time.txt" "$PEC" --data-dir "$data" usage upload "$FILE" --partner "$PARTNER" >"$DIR/receipt.json"
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$DIR/time.txt")
  status=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['status'])" "$DIR/receipt.json")
  record "upload.pec.$rows" "{\"rows\":$rows,\"bytes\":$(stat -c %s "$FILE"),\"maxRssKiB\":$rss,\"wall\":\"$wall\",\"status\":\"$status\"}"
  rm -rf "$data" "$FILE"
done
rm -f "$ALL"
fi

# ---------------------------------------------------------------------------------------------
"$PY" bench/report.py "$RESULTS" "$DUCKDB_VERSION" | tee "$DIR/results.md"
