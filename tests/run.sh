#!/usr/bin/env bash
# Runs every check and test of the project: formatting, lints, unit, property, scenario and
# end-to-end tests. Installs nothing by hand: whatever a test needs, this script sets up.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$TARGET"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors), as built by default and with every feature"
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings

echo "== infra: SAM template lint and ledger IAM checks"
./tests/infra.sh

echo "== chromium (the HTML statement test renders the page in headless Chromium)"
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

echo "== pdftotext (the PDF statement tests extract the PDF's text with poppler-utils)"
command -v pdftotext >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils; }

echo "== api: README examples and schemathesis against pec serve (docs/openapi.json)"
./tests/api.sh

echo "== local AWS emulator for the AWS tests (aws/tests)"
# shellcheck source=tests/aws-emulator.sh
source tests/aws-emulator.sh

echo "== cargo test"
cargo test --workspace --all-features 2>&1 | tee "$TARGET/test-output.txt"

echo "== differential check: pec against the independent Python oracle (tests/oracle)"
python3 tests/oracle/pec_oracle.py --self-test
oracle_runs=0
for seed in 42 7; do
  bash tests/oracle/run.sh "$TARGET/debug/pec" "$seed"
  oracle_runs=$((oracle_runs + 1))
done
bash tests/oracle/run.sh "$TARGET/debug/pec" 11 --gzip --days 45 --partners 3 --customers 5
oracle_runs=$((oracle_runs + 1))
for seed in 1 2 3 4 5 6 7 8; do
  ORACLE_FUZZ=1 bash tests/oracle/run.sh "$TARGET/debug/pec" "$seed"
  oracle_runs=$((oracle_runs + 1))
done

echo "== fuzz: a short coverage-guided run of each fuzz target over its corpus (fuzz/README.md)"
./tests/fuzz.sh

# A closing line for CI, summed over every test binary and oracle run (any failure above has
# already stopped the script).
awk -v extra="$oracle_runs" '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p + extra, f }' "$TARGET/test-output.txt"
