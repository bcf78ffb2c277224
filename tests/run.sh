#!/usr/bin/env bash
# Runs every check and test of the project: formatting, lints, unit, property, scenario and
# end-to-end tests. Installs nothing by hand: whatever a test needs, this script sets up.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== cargo test"
cargo test --workspace 2>&1 | tee target/test-output.txt
# A closing line for CI, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' target/test-output.txt
