#!/usr/bin/env bash
# Lambda functions (BENCHMARKS.md, "5. Lambda"): stripped size of each function binary and the
# time from process start to its first poll of the Lambda runtime API (a local stub,
# bench/lambda_coldstart.py), median over LAMBDA_RUNS runs (default 30).
#
#   bench/lambda.sh                  the six binaries as `sam build` makes them: release with
#                                    infra/lambda-build.toml (opt-level "s", fat LTO, 1 codegen
#                                    unit, stripped), for this machine's architecture (x86_64
#                                    here; the template deploys arm64, built by cargo-lambda)
#   LAMBDA_VARIANTS=1 bench/lambda.sh   also builds nightly-settle-worker with other settings, to
#                                    show what each one pays in size and cold start (each variant
#                                    rebuilds every dependency: ~10-20 min each on 2 cores)
#
# Release builds go to ${CARGO_TARGET_DIR:-target}; the binaries measured are copied to
# ${CARGO_TARGET_DIR:-target}/lambda-bench/<variant>/.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$TARGET"
TARGET=$(cd "$TARGET" && pwd)
RUNS=${LAMBDA_RUNS:-30}
OUT="$TARGET/lambda-bench"
BINS=(usage-upload access-webhook statement-api nightly-settle-coordinator nightly-settle-worker monthly-statement alert-publisher)
PKGS=(-p pec-fn-usage-upload -p pec-fn-access-webhook -p pec-fn-nightly-settle -p pec-fn-monthly-statement -p pec-fn-alert-publisher)

# build VARIANT "BIN…" [cargo --config overrides on top of infra/lambda-build.toml]…
build() {
  local variant=$1 bins=$2
  shift 2
  local pkgs=("${PKGS[@]}")
  if [[ "$bins" != "${BINS[*]}" ]]; then
    pkgs=()
    for b in $bins; do pkgs+=(--bin "$b"); done
  fi
  echo "== cargo build --release --config infra/lambda-build.toml $* ($variant)"
  local t0=$SECONDS
  nice -n 10 cargo build --quiet --release --config infra/lambda-build.toml "$@" "${pkgs[@]}"
  echo "   built in $((SECONDS - t0)) s"
  mkdir -p "$OUT/$variant"
  for b in $bins; do cp "$TARGET/release/$b" "$OUT/$variant/$b"; done
}

# report VARIANT "BIN…": size (as built, and after `strip`, which must change nothing when the
# profile strips) and cold start
report() {
  local variant=$1 bins=$2 paths=()
  printf '%-28s %-28s %12s %12s\n' variant binary bytes "stripped"
  for b in $bins; do
    local f="$OUT/$variant/$b"
    strip -o "$f.stripped" "$f"
    printf '%-28s %-28s %12d %12d\n' "$variant" "$b" "$(stat -c %s "$f")" "$(stat -c %s "$f.stripped")"
    paths+=("$f")
  done
  python3 bench/lambda_coldstart.py "$RUNS" "${paths[@]}" | sed "s/^/$variant: /"
}

echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(uname -m); $(rustc --version)"
build lambda "${BINS[*]}"
report lambda "${BINS[*]}"

if [[ "${LAMBDA_VARIANTS:-}" == 1 ]]; then
  W=nightly-settle-worker
  # What `sam build` made before infra/lambda-build.toml: cargo-lambda's release defaults on the
  # workspace's release profile (opt-level 3, thin LTO, 1 codegen unit, panic=abort, and, as the
  # profile has debug = 1, debug info kept and nothing stripped).
  build sam-before "$W" --config 'profile.release.opt-level=3' --config 'profile.release.lto="thin"' \
    --config 'profile.release.panic="abort"' --config 'profile.release.debug=1' \
    --config 'profile.release.strip=false'
  report sam-before "$W"
  build opt3-fat-lto "$W" --config 'profile.release.opt-level=3'
  report opt3-fat-lto "$W"
  build panic-abort "$W" --config 'profile.release.panic="abort"'
  report panic-abort "$W"
  build opt-z "$W" --config 'profile.release.opt-level="z"'
  report opt-z "$W"
fi
