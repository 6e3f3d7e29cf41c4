#!/usr/bin/env bash
# One-time setup for the benchmark's peers (not part of CI's test path): Debian's fetchmail (the collector people would
# use instead) and GNU time. Dovecot and the OAuth server come from tests/infra/install.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/../infra/install.sh"
if ! command -v fetchmail >/dev/null || ! command -v maildrop >/dev/null || ! [ -x /usr/bin/time ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends fetchmail time maildrop
fi
fetchmail --version 2>/dev/null | head -1 || true
