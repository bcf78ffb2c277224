#!/usr/bin/env bash
# DynamoDB figures (BENCHMARKS.md, "4. DynamoDB"): requests and write units per 1,000 ledger
# entries, item sizes, and the largest share of one night's writes on one partition key at 1 M
# entries. Starts a local AWS emulator (moto, installed by tests/aws-emulator.sh into
# ${CARGO_TARGET_DIR:-target}/venv) and runs aws/examples/dynamo_figures.rs against it, which
# drives the real DynamoStore through the domain calls the functions make (see its header for
# what is counted and how write units are computed). Prints Markdown tables.
#
#   bench/dynamo.sh                                  2 customers x 2 subscriptions x 50 resources, 5 days
#   bench/dynamo.sh --customers 4 --days 10 --hot-entries 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/aws-emulator.sh
source tests/aws-emulator.sh
echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)')"
cargo run --quiet -p pec-aws --example dynamo_figures -- "$@"
