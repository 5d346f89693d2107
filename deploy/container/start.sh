#!/bin/sh
# The image's command: one service of the platform, named by NRMM_SERVICE_NAME (gateway, registry, sites,
# inspection, notifications), listening on NRMM_HTTP_PORT (8000). Arguments are passed on to uvicorn.
set -eu
case "${NRMM_SERVICE_NAME:-}" in
  gateway|registry|sites|inspection|notifications) ;;
  *) echo "NRMM_SERVICE_NAME must name a service: gateway, registry, sites, inspection or notifications" >&2; exit 64 ;;
esac
exec uvicorn "$NRMM_SERVICE_NAME.main:create_app" --factory --host 0.0.0.0 --port "${NRMM_HTTP_PORT:-8000}" \
  --no-access-log --no-proxy-headers "$@"
