#!/usr/bin/env bash
# Stops a test OAuth server: tests/infra/stop-oauth.sh <state-file | pid>
# SIGTERM shuts it down cleanly (it removes its state file).
set -euo pipefail
t="${1:?usage: $0 <state-file|pid>}"
if [ -f "$t" ]; then pid="$(sed -n 's/^ *"pid": *\([0-9]*\).*/\1/p' "$t" | head -1)"; else pid="$t"; fi
[ -n "$pid" ] || { echo "stop-oauth: no pid" >&2; exit 1; }
if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q 'server.mjs'; then
  kill -TERM "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
fi
echo "STOPPED oauth-server $pid"
