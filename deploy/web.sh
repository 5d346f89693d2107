#!/usr/bin/env bash
# Builds the front end (web/: the mini-program's pages, Vue 3 + Vite + Vant, served by the gateway at /m/; the PC
# console, Element Plus + ECharts + pdf.js, served at /) into web/dist.
#
#   deploy/web.sh           build when web/dist is missing (deploy/run.sh does this)
#   deploy/web.sh --force   build from the lock file every time (.ci/run does this)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/web"
log() { printf '[web] %s\n' "$*" >&2; }

if [ "${1:-}" != "--force" ] && [ -f "$WEB/dist/index.html" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  log "npm not found: installing Debian's nodejs and npm"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
cd "$WEB"
log "npm ci (from package-lock.json)"
npm ci --no-audit --no-fund --loglevel=error
log "npm run build"
npm run build --silent
log "built: $WEB/dist (served by the gateway: the mobile pages at /m/, the console at /)"
