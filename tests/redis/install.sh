#!/usr/bin/env bash
# What the Redis tests need: Debian's redis-server (the tests start their own, on a free
# loopback port, and stop it). Idempotent; run by `nox -s tests`. Without root, it says what to run.
set -euo pipefail
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  else
    echo "install.sh: redis-server is missing: sudo apt-get install redis-server (the Redis tests need it)" >&2
  fi
fi
