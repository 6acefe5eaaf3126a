#!/usr/bin/env bash
# What the browser test needs: Debian's Chromium and the playwright-core client (pinned in
# package-lock.json). Idempotent; run by `nox -s tests`. Without root, it says what to run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "install.sh: Chromium is missing: sudo apt-get install chromium (the browser test needs it)" >&2
  fi
fi
if ! command -v npm >/dev/null; then
  echo "install.sh: npm is missing: install Node.js (the browser test needs it)" >&2
  exit 0
fi
if [ ! -d "$here/node_modules/playwright-core" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
