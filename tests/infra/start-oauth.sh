#!/usr/bin/env bash
# Starts the test OAuth server in the background and waits until it is ready.
#   tests/infra/start-oauth.sh --state-file FILE [--log FILE] [extra server.mjs args, e.g. --access-token-ttl 5]
# Prints the state JSON then "READY <issuer>". Stop with tests/infra/stop-oauth.sh FILE.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_FILE=""; LOG=""; EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --state-file) STATE_FILE="$2"; shift 2;;
    --log) LOG="$2"; shift 2;;
    *) EXTRA+=("$1"); shift;;
  esac
done
[ -n "$STATE_FILE" ] || STATE_FILE="$(mktemp -d /tmp/ftg-oauth-XXXXXX)/state.json"
[ -n "$LOG" ] || LOG="${STATE_FILE%.json}.log"
[ -d "$HERE/oauth-server/node_modules/oidc-provider" ] || { echo "start-oauth: run tests/infra/install.sh first" >&2; exit 1; }
rm -f "$STATE_FILE"
OUT="${LOG}.stdout"
( cd "$HERE/oauth-server" && exec node server.mjs --port 0 --state-file "$STATE_FILE" "${EXTRA[@]}" ) \
  </dev/null >"$OUT" 2>"$LOG" &
pid=$!
for _ in $(seq 1 150); do
  if grep -q '^READY ' "$OUT" 2>/dev/null && [ -s "$STATE_FILE" ]; then
    cat "$STATE_FILE"; grep '^READY ' "$OUT"; exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
echo "start-oauth: server did not become ready; log:" >&2
cat "$LOG" >&2
kill "$pid" 2>/dev/null || true
exit 1
