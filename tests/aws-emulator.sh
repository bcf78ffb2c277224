#!/usr/bin/env bash
# Sourced by tests/run.sh: installs moto (a local AWS emulator, from PyPI) into target/venv,
# starts `moto_server` on a free loopback port, waits until it answers, exports
# PEC_TEST_AWS_ENDPOINT and dummy credentials for the AWS tests, and stops it on exit.
VENV=target/venv
MOTO_REQUIREMENT="moto[server]==5.2.5"
if ! "$VENV/bin/python" -c '' 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import moto.server, flask' 2>/dev/null; then
  echo "== installing $MOTO_REQUIREMENT into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$MOTO_REQUIREMENT"
fi
MOTO_PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p target
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >target/moto.log 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$MOTO_PORT/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then
    echo "moto_server exited:" >&2
    cat target/moto.log >&2
    exit 1
  fi
  sleep 0.2
done
export PEC_TEST_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
echo "== moto_server (local AWS emulator) at $PEC_TEST_AWS_ENDPOINT"
