#!/usr/bin/env bash
# What the HTTP benchmarks need: Debian's wrk (the load client). Idempotent; run by
# `nox -s bench`. Without root, it says what to run.
set -euo pipefail
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
  else
    echo "install_wrk.sh: wrk is missing: sudo apt-get install wrk (the HTTP benchmarks need it)" >&2
    exit 1
  fi
fi
