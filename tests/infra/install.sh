#!/usr/bin/env bash
# Installs what the integration-test servers need: Dovecot 2.3 (POP3), openssl, and the
# npm packages of the OAuth2/OIDC test server. Idempotent, non-interactive, runs as root
# (CI=true, no stdin). Never leaves the Debian package's own system dovecot running.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo -n"; fi

PKGS=(dovecot-core dovecot-pop3d openssl curl ca-certificates)
# Debian's Chromium (/usr/bin/chromium) for the web admin's browser test (tests/FTGate.WebAdmin.Tests); browsers
# cannot be downloaded by Playwright here, so the test drives this one.
PKGS+=(chromium)
PKGS+=(redis-server) # farm tests: private instances via start-redis.sh (the package's service is kept from starting)
# Node (>= 18) runs the OAuth server; machines of this project normally have Node 20 already.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "[install] installing: ${missing[*]}"
  # Keep the package's maintainer scripts from starting the system dovecot service
  # (it would bind 110/143/993/995). policy-rc.d exit 101 = "action forbidden".
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup_policy() { if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup_policy EXIT

  # apt-get update only when the lists are missing/stale or the packages are unknown.
  need_update=0
  if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
    need_update=1
  else
    for p in "${missing[@]}"; do
      if ! apt-cache show "$p" >/dev/null 2>&1; then need_update=1; fi
    done
  fi
  if [ "$need_update" = 1 ]; then
    $SUDO apt-get update -q </dev/null
  fi
  if ! $SUDO apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null; then
    # stale lists: retry once after an update
    $SUDO apt-get update -q </dev/null
    $SUDO apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null
  fi
  cleanup_policy
  trap - EXIT
else
  echo "[install] apt packages already installed: ${PKGS[*]}"
fi

# Make sure the system dovecot service is not running and will not start at boot.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
else
  if [ -x /etc/init.d/dovecot ]; then
    $SUDO /etc/init.d/dovecot stop >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1; then
    $SUDO update-rc.d dovecot disable >/dev/null 2>&1 || true
  fi
fi
# A system instance (base_dir /run/dovecot) still alive? stop it by its pid file.
if [ -f /run/dovecot/master.pid ]; then
  syspid="$(cat /run/dovecot/master.pid 2>/dev/null || true)"
  if [ -n "$syspid" ] && kill -0 "$syspid" 2>/dev/null; then
    echo "[install] stopping system dovecot (pid $syspid)"
    $SUDO kill "$syspid" || true
  fi
fi

# npm packages of the OAuth test server (reproducible from package-lock.json).
cd "$HERE/oauth-server"
if [ -d node_modules/oidc-provider ] && [ node_modules/.package-lock.json -nt package-lock.json ] \
   && node -e 'require("./node_modules/oidc-provider/package.json")' 2>/dev/null; then
  echo "[install] oauth-server node_modules up to date"
else
  npm ci --no-audit --no-fund --loglevel=error </dev/null
fi

echo "[install] dovecot $(dovecot --version)"
echo "[install] openssl $(openssl version)"
echo "[install] node $(node --version)"
echo "[install] $(chromium --version 2>/dev/null || echo 'chromium: not found')"
echo "[install] oidc-provider $(node -p 'require("./node_modules/oidc-provider/package.json").version')"
