#!/usr/bin/env bash
# Starts a PRIVATE Dovecot 2.3 POP3 instance for the FTGate integration tests.
#
#   tests/infra/start-dovecot.sh --oauth-state /tmp/oauth.json [options]
#
# Options (environment variable in brackets):
#   --oauth-state FILE      state file of oauth-server/server.mjs; its issuer is used   [FTG_OAUTH_STATE_FILE]
#   --oauth-issuer URL      issuer of the OAuth server instead (http://127.0.0.1:PORT)   [FTG_OAUTH_ISSUER]
#   --introspection-url URL full introspection URL with credentials (overrides the two above)
#   --data DIR              data dir; Maildirs live in DIR/mail/<user>/Maildir (default BASE/data) [FTG_DC_DATA]
#   --base-dir DIR          base dir of the instance (default: mktemp -d /tmp/ftg-dc-XXXXXX) [FTG_DC_BASE_DIR]
#   --pop3-port N           plain POP3 port (STLS offered); 0 = pick a free one (default)   [FTG_DC_POP3_PORT]
#   --pop3s-port N          implicit-TLS POP3S port; 0 = pick a free one (default)          [FTG_DC_POP3S_PORT]
#   --state-file FILE       where to write the JSON state (default BASE/state.json)         [FTG_DC_STATE_FILE]
#   --tls-dir DIR           reuse ca.pem/server.pem/server.key/dh.pem from DIR (generated there if missing)
#   --scope S               scope Dovecot requires in the introspection answer (default mail; "" = none)
#   --users "a b"           extra mailboxes to pre-create besides alice/bob/carol
#   --passwd FILE           passwd-file to use instead of dovecot/users.passwd
#   --debug                 auth_debug = yes (token/introspection details in the log)
#
# Prints the state JSON and then "READY" on stdout. Stop with tests/infra/stop-dovecot.sh <state-file|base-dir>.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TPL="$HERE/dovecot"
MAIL_USER="${FTG_DC_MAIL_USER:-ftgatemail}"

OAUTH_STATE="${FTG_OAUTH_STATE_FILE:-}"
OAUTH_ISSUER="${FTG_OAUTH_ISSUER:-}"
INTROSPECTION_URL=""
DATA_DIR="${FTG_DC_DATA:-}"
BASE_DIR="${FTG_DC_BASE_DIR:-}"
POP3_PORT="${FTG_DC_POP3_PORT:-0}"
POP3S_PORT="${FTG_DC_POP3S_PORT:-0}"
STATE_FILE="${FTG_DC_STATE_FILE:-}"
TLS_DIR=""
SCOPE="mail"
EXTRA_USERS=""
PASSWD_FILE="$TPL/users.passwd"
AUTH_DEBUG="no"

die() { echo "start-dovecot: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --oauth-state) OAUTH_STATE="$2"; shift 2;;
    --oauth-issuer) OAUTH_ISSUER="$2"; shift 2;;
    --introspection-url) INTROSPECTION_URL="$2"; shift 2;;
    --data) DATA_DIR="$2"; shift 2;;
    --base-dir) BASE_DIR="$2"; shift 2;;
    --pop3-port) POP3_PORT="$2"; shift 2;;
    --pop3s-port) POP3S_PORT="$2"; shift 2;;
    --state-file) STATE_FILE="$2"; shift 2;;
    --tls-dir) TLS_DIR="$2"; shift 2;;
    --scope) SCOPE="$2"; shift 2;;
    --users) EXTRA_USERS="$2"; shift 2;;
    --passwd) PASSWD_FILE="$2"; shift 2;;
    --debug) AUTH_DEBUG="yes"; shift;;
    -h|--help) sed -n '2,24p' "$0"; exit 0;;
    *) die "unknown argument: $1";;
  esac
done

command -v dovecot >/dev/null || die "dovecot is not installed (run tests/infra/install.sh)"
command -v openssl >/dev/null || die "openssl is not installed (run tests/infra/install.sh)"
[ "$(id -u)" = 0 ] || die "must run as root (Dovecot switches to the mail user $MAIL_USER)"

# ---- introspection URL ----
if [ -z "$INTROSPECTION_URL" ]; then
  if [ -z "$OAUTH_ISSUER" ] && [ -n "$OAUTH_STATE" ]; then
    [ -f "$OAUTH_STATE" ] || die "OAuth state file not found: $OAUTH_STATE"
    OAUTH_ISSUER="$(sed -n 's/^ *"issuer": *"\([^"]*\)".*/\1/p' "$OAUTH_STATE" | head -1)"
  fi
  [ -n "$OAUTH_ISSUER" ] || die "need --oauth-state FILE, --oauth-issuer URL or --introspection-url URL"
  hostport="${OAUTH_ISSUER#http://}"; hostport="${hostport%%/*}"
  INTROSPECTION_URL="http://dovecot:dovecot-secret@${hostport}/token/introspection"
fi

# ---- base dir (short: unix socket paths must stay under ~100 bytes) ----
if [ -z "$BASE_DIR" ]; then
  BASE_DIR="$(mktemp -d /tmp/ftg-dc-XXXXXX)"
else
  mkdir -p "$BASE_DIR"
fi
BASE_DIR="$(cd "$BASE_DIR" && pwd)"
[ "${#BASE_DIR}" -le 60 ] || die "base dir path too long for unix sockets: $BASE_DIR"
if [ -f "$BASE_DIR/run/master.pid" ] && kill -0 "$(cat "$BASE_DIR/run/master.pid")" 2>/dev/null; then
  die "an instance is already running in $BASE_DIR (pid $(cat "$BASE_DIR/run/master.pid"))"
fi
chmod 755 "$BASE_DIR"
CONF_DIR="$BASE_DIR/conf"
mkdir -p "$CONF_DIR" "$BASE_DIR/run" "$BASE_DIR/state"
LOG_PATH="$BASE_DIR/dovecot.log"
: > "$LOG_PATH"
[ -n "$STATE_FILE" ] || STATE_FILE="$BASE_DIR/state.json"
INSTANCE_NAME="$(basename "$BASE_DIR")"

# ---- mail user ----
if ! id -u "$MAIL_USER" >/dev/null 2>&1; then
  (
    flock 9
    id -u "$MAIL_USER" >/dev/null 2>&1 || \
      useradd --system --user-group --no-create-home --home-dir /nonexistent \
              --shell /usr/sbin/nologin "$MAIL_USER"
  ) 9>/tmp/.ftg-dc-useradd.lock
fi
MAIL_UID="$(id -u "$MAIL_USER")"
MAIL_GID="$(id -g "$MAIL_USER")"

# ---- data dir / Maildirs ----
[ -n "$DATA_DIR" ] || DATA_DIR="$BASE_DIR/data"
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
MAILDIR_ROOT="$DATA_DIR/mail"
mkdir -p "$MAILDIR_ROOT"
chmod 755 "$DATA_DIR"
chown "$MAIL_UID:$MAIL_GID" "$MAILDIR_ROOT"
chmod 777 "$MAILDIR_ROOT"
# every parent must be traversable by the mail user
d="$DATA_DIR"
while [ "$d" != "/" ]; do
  if ! runuser -u "$MAIL_USER" -- test -x "$d" 2>/dev/null; then
    die "$d is not traversable by $MAIL_USER (chmod o+x it or use another --data dir)"
  fi
  d="$(dirname "$d")"
done
users="$(grep -v '^#' "$PASSWD_FILE" | cut -d: -f1 | tr 'A-Z' 'a-z') $EXTRA_USERS"
for u in $users; do
  [ -n "$u" ] || continue
  for sub in cur new tmp; do mkdir -p "$MAILDIR_ROOT/$u/Maildir/$sub"; done
  chown -R "$MAIL_UID:$MAIL_GID" "$MAILDIR_ROOT/$u"
  # world-writable so tests running as root (or anyone) can drop messages into new/ or cur/
  find "$MAILDIR_ROOT/$u" -type d -exec chmod 777 {} +
done

# ---- TLS: test CA + server certificate for localhost / 127.0.0.1 / ::1 ----
[ -n "$TLS_DIR" ] || TLS_DIR="$BASE_DIR/tls"
mkdir -p "$TLS_DIR"
TLS_DIR="$(cd "$TLS_DIR" && pwd)"
(
  flock 8
  cd "$TLS_DIR"
  if [ ! -s ca.pem ] || [ ! -s ca.key ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -keyout ca.key -out ca.pem -subj "/CN=FTGate Test CA/O=FTGate Tests" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
    rm -f server.pem server.key
  fi
  if [ ! -s server.pem ] || [ ! -s server.key ]; then
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr \
      -subj "/CN=localhost/O=FTGate Tests" >/dev/null 2>&1
    cat > server.ext <<EOX
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EOX
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 825 -sha256 -extfile server.ext -out server.pem >/dev/null 2>&1
    rm -f server.csr server.ext
  fi
  [ -s dh.pem ] || openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh.pem 2>/dev/null
  chmod 600 ca.key server.key
  chmod 644 ca.pem server.pem dh.pem
) 8>"$TLS_DIR/.lock"
CERT_SHA256="$(openssl x509 -in "$TLS_DIR/server.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')"

# ---- ports ----
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}
[ "$POP3_PORT" != 0 ] || POP3_PORT="$(free_port)"
[ "$POP3S_PORT" != 0 ] || POP3S_PORT="$(free_port)"
while [ "$POP3S_PORT" = "$POP3_PORT" ]; do POP3S_PORT="$(free_port)"; done

# ---- render config ----
cp "$PASSWD_FILE" "$CONF_DIR/users.passwd"
chmod 644 "$CONF_DIR/users.passwd"
render() {
  sed -e "s|@INSTANCE_NAME@|$INSTANCE_NAME|g" \
      -e "s|@BASE_DIR@|$BASE_DIR|g" \
      -e "s|@LOG_PATH@|$LOG_PATH|g" \
      -e "s|@TLS_DIR@|$TLS_DIR|g" \
      -e "s|@CONF_DIR@|$CONF_DIR|g" \
      -e "s|@DISABLE_PLAINTEXT_AUTH@|${FTG_DC_DISABLE_PLAINTEXT_AUTH:-yes}|g" \
      -e "s|@AUTH_DEBUG@|$AUTH_DEBUG|g" \
      -e "s|@MAIL_UID@|$MAIL_UID|g" \
      -e "s|@MAIL_GID@|$MAIL_GID|g" \
      -e "s|@MAILDIR_ROOT@|$MAILDIR_ROOT|g" \
      -e "s|@POP3_PORT@|$POP3_PORT|g" \
      -e "s|@POP3S_PORT@|$POP3S_PORT|g" \
      -e "s|@INTROSPECTION_URL@|$INTROSPECTION_URL|g" \
      -e "s|@OAUTH_SCOPE@|$SCOPE|g" \
      "$1"
}
render "$TPL/dovecot.conf.template" > "$CONF_DIR/dovecot.conf"
render "$TPL/oauth2.conf.ext.template" > "$CONF_DIR/oauth2.conf.ext"
if [ -z "$SCOPE" ]; then sed -i '/^scope = *$/d' "$CONF_DIR/oauth2.conf.ext"; fi
chmod 600 "$CONF_DIR/oauth2.conf.ext"

doveconf -c "$CONF_DIR/dovecot.conf" -n >/dev/null 2>"$BASE_DIR/doveconf.err" || {
  cat "$BASE_DIR/doveconf.err" >&2; die "invalid config $CONF_DIR/dovecot.conf"; }

# ---- start (daemonizes; master pid in base_dir/run/master.pid) ----
dovecot -c "$CONF_DIR/dovecot.conf" </dev/null >"$BASE_DIR/dovecot.stdout" 2>&1 || {
  cat "$BASE_DIR/dovecot.stdout" "$LOG_PATH" >&2; die "dovecot failed to start"; }

# wait for both listeners to greet
greets() {
  local port="$1"
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c 3 <&3" 2>/dev/null | grep -q '+OK'
}
ok=0
for _ in $(seq 1 100); do
  if [ -f "$BASE_DIR/run/master.pid" ] && greets "$POP3_PORT"; then ok=1; break; fi
  sleep 0.1
done
PID="$(cat "$BASE_DIR/run/master.pid" 2>/dev/null || echo 0)"
if [ "$ok" != 1 ]; then
  cat "$LOG_PATH" >&2
  [ "$PID" = 0 ] || kill "$PID" 2>/dev/null || true
  die "dovecot did not come up on 127.0.0.1:$POP3_PORT"
fi
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$POP3S_PORT") 2>/dev/null && break
  sleep 0.1
done

VERSION="$(dovecot --version | cut -d' ' -f1)"
tmp="$STATE_FILE.tmp$$"
cat > "$tmp" <<EOF
{
  "pop3Port": $POP3_PORT,
  "pop3sPort": $POP3S_PORT,
  "host": "127.0.0.1",
  "caCert": "$TLS_DIR/ca.pem",
  "serverCert": "$TLS_DIR/server.pem",
  "serverCertSha256": "$CERT_SHA256",
  "maildirRoot": "$MAILDIR_ROOT",
  "maildirPattern": "$MAILDIR_ROOT/{user}/Maildir",
  "dataDir": "$DATA_DIR",
  "logPath": "$LOG_PATH",
  "configFile": "$CONF_DIR/dovecot.conf",
  "introspectionUrl": "$INTROSPECTION_URL",
  "mailUser": "$MAIL_USER",
  "version": "$VERSION",
  "baseDir": "$BASE_DIR",
  "instanceName": "$INSTANCE_NAME",
  "pid": $PID
}
EOF
mv "$tmp" "$STATE_FILE"
[ "$STATE_FILE" = "$BASE_DIR/state.json" ] || cp "$STATE_FILE" "$BASE_DIR/state.json"
cat "$STATE_FILE"
echo "READY"
