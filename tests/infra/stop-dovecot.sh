#!/usr/bin/env bash
# Stops a private Dovecot instance started by start-dovecot.sh.
#   tests/infra/stop-dovecot.sh <state-file | base-dir> [--clean]
# --clean also removes the base dir (and with it the default data dir, TLS files and log).
set -euo pipefail

target="${1:-}"; clean="${2:-}"
[ -n "$target" ] || { echo "usage: $0 <state-file|base-dir> [--clean]" >&2; exit 2; }

if [ -d "$target" ]; then
  BASE_DIR="$(cd "$target" && pwd)"
else
  [ -f "$target" ] || { echo "stop-dovecot: no such state file or dir: $target" >&2; exit 1; }
  BASE_DIR="$(sed -n 's/^ *"baseDir": *"\([^"]*\)".*/\1/p' "$target" | head -1)"
fi
[ -n "$BASE_DIR" ] || { echo "stop-dovecot: cannot find baseDir" >&2; exit 1; }

PIDFILE="$BASE_DIR/run/master.pid"
if [ -f "$PIDFILE" ]; then
  pid="$(cat "$PIDFILE")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # only kill it if it really is the dovecot master of this base dir
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "dovecot.*$BASE_DIR/conf/dovecot.conf"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    else
      echo "stop-dovecot: pid $pid is not this instance's dovecot; not killing" >&2
    fi
  fi
fi

if [ "$clean" = "--clean" ]; then
  case "$BASE_DIR" in
    /tmp/*|/var/tmp/*) rm -rf "$BASE_DIR";;
    *) echo "stop-dovecot: not removing $BASE_DIR (outside /tmp)" >&2;;
  esac
fi
echo "STOPPED $BASE_DIR"
