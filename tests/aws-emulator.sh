#!/usr/bin/env bash
# Sourced by tests/run.sh: installs moto (a local AWS emulator, from PyPI) into the shared venv
# (tests/venv.sh, ${CARGO_TARGET_DIR:-target}/venv),
# starts `moto_server` on a free loopback port, waits until it answers, exports
# PEC_TEST_AWS_ENDPOINT and dummy credentials for the AWS tests, and stops it on exit.
# shellcheck source=tests/venv.sh
source tests/venv.sh
pec_venv_install aws "moto[server]==5.2.5"
VENV="$PEC_VENV"
MOTO_PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_LOG="${CARGO_TARGET_DIR:-target}/moto.log"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
moto_up=0
for _ in $(seq 1 150); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$MOTO_PORT/moto-api/', timeout=1)" 2>/dev/null; then
    moto_up=1
    break
  fi
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
if [[ $moto_up != 1 ]]; then
  echo "moto_server did not answer on port $MOTO_PORT:" >&2
  cat "$MOTO_LOG" >&2
  exit 1
fi
export PEC_TEST_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
echo "== moto_server (local AWS emulator) at $PEC_TEST_AWS_ENDPOINT"
