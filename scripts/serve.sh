#!/usr/bin/env bash
# The one run command: builds the web client (console and widget) when web/dist is missing or older than its
# sources, then starts `kefu serve --demo`. Extra arguments go to `kefu serve`; cargo's own flags go in
# CARGO_FLAGS (e.g. CARGO_FLAGS=--release). The server is pointed at the built assets with KEFU_WEB_DIR.
#
# Environment: KEFU_BOOTSTRAP_TOKEN (default change-me), KEFU_ADDR, KEFU_DATA_DIR as for `kefu serve`;
# CARGO_FLAGS (e.g. --release).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$repo/web"

stale() {
  [ -f "$web/dist/index.html" ] && [ -f "$web/dist/widget/kefu.js" ] || return 0
  # Anything in the sources or the build setup newer than the built loader means a rebuild.
  [ -n "$(find "$web/src" "$web/index.html" "$web/package-lock.json" "$web"/vite*.ts \
    -newer "$web/dist/widget/kefu.js" -print -quit)" ]
}

if stale; then
  echo "building the web client in web/ ..."
  (
    cd "$web"
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
    fi
    npm run build
  )
fi

export KEFU_BOOTSTRAP_TOKEN="${KEFU_BOOTSTRAP_TOKEN:-change-me}"
export KEFU_WEB_DIR="${KEFU_WEB_DIR:-$web/dist}"
cd "$repo"
# shellcheck disable=SC2086 # CARGO_FLAGS is deliberately split into words
exec cargo run ${CARGO_FLAGS:-} --bin kefu -- serve --demo "$@"
