#!/usr/bin/env bash
# Runs a PRIVATE redis-server for the FTGate farm tests (and the quick start of docs/farm.md) in the foreground.
#
#   tests/infra/start-redis.sh --dir DIR [--port N] [--password P]
#
# DIR holds redis.conf, the append-only file and the log. The settings are the ones a farm requires (docs/farm.md):
# appendonly yes + appendfsync always (a restart, even kill -9, loses no acknowledged write), maxmemory-policy noeviction
# (Redis never drops a grant, a seen UIDL or a lease), loopback only. The process execs into redis-server, so its pid is the
# server's: SIGTERM stops it cleanly, SIGKILL simulates a crash. Start it again with the same DIR and port to "restart".
set -euo pipefail

DIR=""
PORT=6379
PASSWORD=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$2"; shift 2;;
    --port) PORT="$2"; shift 2;;
    --password) PASSWORD="$2"; shift 2;;
    *) echo "start-redis: unknown argument $1" >&2; exit 2;;
  esac
done
[ -n "$DIR" ] || { echo "start-redis: --dir DIR is required" >&2; exit 2; }
command -v redis-server >/dev/null 2>&1 || { echo "start-redis: redis-server is not installed (run: bash tests/infra/install.sh)" >&2; exit 3; }
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

{
  echo "bind 127.0.0.1"
  echo "port $PORT"
  echo "protected-mode yes"
  echo "daemonize no"
  echo "dir $DIR"
  echo "logfile $DIR/redis.log"
  echo "appendonly yes"
  echo "appendfsync always"
  echo "appenddirname appendonly"
  echo "save \"\""
  echo "maxmemory-policy noeviction"
  if [ -n "$PASSWORD" ]; then echo "requirepass $PASSWORD"; fi
} > "$DIR/redis.conf"
chmod 600 "$DIR/redis.conf"

exec redis-server "$DIR/redis.conf"
