#!/usr/bin/env bash
# Short coverage-guided fuzzing runs (fuzz/README.md): each target for FUZZ_SECONDS (default
# 30) seconds, starting from its committed corpus (fuzz/corpus/<target>, read only: new inputs
# go to $TARGET/fuzz/corpus/<target>). Any crash, failed invariant, leak or timeout fails the
# script. cargo-fuzz (pinned) is installed under $TARGET/tools and the fuzz build goes under
# $TARGET/fuzz, so a clean clone needs only the nightly toolchain that the machine has.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$TARGET"
TARGET="$(cd "$TARGET" && pwd)"
CARGO_FUZZ_VERSION=0.13.2
SECONDS_EACH="${FUZZ_SECONDS:-30}"
TARGETS=(usage_file snapshot signature)

if ! rustup run nightly rustc --version; then
  echo "fuzz.sh: the nightly toolchain is needed (cargo fuzz builds with -Zsanitizer flags)" >&2
  exit 1
fi
if ! "$TARGET/tools/bin/cargo-fuzz" --version 2>/dev/null | grep -qF " $CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TARGET/tools"
fi
export PATH="$TARGET/tools/bin:$PATH"

# Without AddressSanitizer and with 16 codegen units the build takes a fraction of the default
# one; the long runs (fuzz/README.md) use the default build.
BUILD=(--target-dir "$TARGET/fuzz" --sanitizer none --codegen-units 16)
cargo +nightly fuzz build "${BUILD[@]}"

for t in "${TARGETS[@]}"; do
  echo "== fuzz $t (${SECONDS_EACH}s)"
  scratch="$TARGET/fuzz/corpus/$t"
  artifacts="$TARGET/fuzz/artifacts/$t"
  log="$TARGET/fuzz/$t.log"
  rm -rf "$scratch" "$artifacts"
  mkdir -p "$scratch" "$artifacts"
  status=0
  cargo +nightly fuzz run "${BUILD[@]}" "$t" "$scratch" "fuzz/corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" || true
  if [ "$status" -ne 0 ] || [ -n "$(ls -A "$artifacts")" ]; then
    tail -n 80 "$log" >&2
    echo "fuzz.sh: $t failed (exit $status); failing input: $artifacts/" >&2
    exit 1
  fi
done
echo "fuzz.sh: ${#TARGETS[@]} targets ran ${SECONDS_EACH}s each, no failure"
