# Sourced by tests/infra.sh and tests/api.sh: the Python virtual environment they share,
# ${CARGO_TARGET_DIR:-target}/venv, made on first use (python3 and PyPI needed).
#
#   pec_venv_install NAME REQUIREMENT...   installs the pinned requirements once (a stamp file
#                                           per NAME remembers them), then `pip check`s the venv
#
# A venv that was copied or moved from another path (its scripts' first lines still name the old
# one) is made anew, so nothing is ever installed into, or run from, the venv it came from.
PEC_VENV="${CARGO_TARGET_DIR:-target}/venv"

pec_venv_usable() {
  "$PEC_VENV/bin/python" -c '' 2>/dev/null || return 1
  local first here
  first=$(head -n 1 "$PEC_VENV/bin/pip" 2>/dev/null) || return 1
  here=$(cd "$PEC_VENV" && pwd)
  [[ "$first" == "#!$here/bin/python"* ]] && return 0
  here=$(cd "$PEC_VENV" && pwd -P)
  [[ "$first" == "#!$here/bin/python"* ]]
}

pec_venv_install() {
  local name=$1
  shift
  local stamp="$PEC_VENV/.pec-$name-requirements"
  if ! pec_venv_usable; then
    echo "== creating $PEC_VENV"
    rm -rf "$PEC_VENV"
    python3 -m venv "$PEC_VENV"
  fi
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$*" ]]; then
    echo "== installing $* into $PEC_VENV"
    "$PEC_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
    # Both scripts' requirements live in this one venv: they must not break each other.
    "$PEC_VENV/bin/python" -m pip check --disable-pip-version-check
    printf '%s\n' "$*" >"$stamp"
  fi
}
