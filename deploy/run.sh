#!/usr/bin/env bash
# Runs the platform: infrastructure (Kafka + MongoDB-wire database) and the service processes.
#
#   deploy/run.sh          start everything, follow the logs, stop the services on Ctrl-C
#   deploy/run.sh start    start everything in the background and return once all answer /readyz
#   deploy/run.sh stop     stop the service processes (deploy/native.sh stop stops the infrastructure)
#   deploy/run.sh status
#
# Infrastructure, in this order: NRMM_KAFKA_BOOTSTRAP + NRMM_MONGODB_URL if both are set;
# else docker compose (Apache Kafka KRaft + mongo:7) where a Docker engine answers; else deploy/native.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${NRMM_VAR_DIR:-$ROOT/var}"
PORT_BASE="${NRMM_PORT_BASE:-8000}"
# the gateway (the single entry point) on the base port, the services on base+1 .. base+4
SERVICES=(gateway registry sites inspection notifications)
mkdir -p "$VAR/log" "$VAR/run"

log() { printf '[run] %s\n' "$*" >&2; }

infrastructure() {
  if [ -n "${NRMM_KAFKA_BOOTSTRAP:-}" ] && [ -n "${NRMM_MONGODB_URL:-}" ]; then
    log "using infrastructure from the environment"
  elif docker info >/dev/null 2>&1; then
    log "Docker engine found: docker compose up kafka mongo"
    docker compose -f "$ROOT/docker-compose.yml" up -d --wait kafka mongo
    export NRMM_KAFKA_BOOTSTRAP=127.0.0.1:9092 NRMM_MONGODB_URL="mongodb://127.0.0.1:27017/?directConnection=true"
  else
    "$ROOT/deploy/native.sh" start
    eval "$("$ROOT/deploy/native.sh" env)"
  fi
  log "kafka=$NRMM_KAFKA_BOOTSTRAP database=$NRMM_MONGODB_URL"
}

port_of() {
  local i
  for i in "${!SERVICES[@]}"; do
    if [ "${SERVICES[$i]}" = "$1" ]; then echo $((PORT_BASE + i)); fi
  done
}

alive() { [ -f "$VAR/run/$1.pid" ] && kill -0 "$(cat "$VAR/run/$1.pid")" 2>/dev/null; }

signing_key() {
  # one random token-signing key per installation unless NRMM_JWT_SECRET is given
  if [ -z "${NRMM_JWT_SECRET:-}" ]; then
    if [ ! -s "$VAR/jwt-secret" ]; then
      (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n' > "$VAR/jwt-secret")
    fi
    NRMM_JWT_SECRET="$(cat "$VAR/jwt-secret")"
    export NRMM_JWT_SECRET
  fi
}

start_services() {
  signing_key
  (cd "$ROOT" && uv sync --frozen --quiet)
  "$ROOT/deploy/web.sh"  # the mini-program's pages (/m/), built once when missing
  local s port
  for s in "${SERVICES[@]}"; do
    export "NRMM_${s^^}_URL=http://127.0.0.1:$(port_of "$s")"  # how the services find each other
  done
  # a development platform: SMS codes are read from the outbox (GET /api/notifications/outbox)
  export NRMM_OUTBOX_READABLE="${NRMM_OUTBOX_READABLE:-true}"
  for s in "${SERVICES[@]}"; do
    port=$(port_of "$s")
    if alive "$s"; then log "$s already running"; continue; fi
    # NRMM_BOOTSTRAP_ADMIN_* (the first administrator), when set, go to the gateway only
    local keep=()
    if [ "$s" != gateway ]; then keep=(-u NRMM_BOOTSTRAP_ADMIN_USERNAME -u NRMM_BOOTSTRAP_ADMIN_PASSWORD); fi
    NRMM_SERVICE_NAME="$s" nohup env "${keep[@]}" "$ROOT/.venv/bin/uvicorn" "$s.main:create_app" --factory \
      --host 127.0.0.1 --port "$port" --no-access-log --no-proxy-headers >>"$VAR/log/$s.log" 2>&1 &
    echo $! > "$VAR/run/$s.pid"
  done
  for s in "${SERVICES[@]}"; do
    port=$(port_of "$s")
    for _ in $(seq 1 120); do
      if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
      if ! alive "$s"; then log "$s exited; see $VAR/log/$s.log"; tail -20 "$VAR/log/$s.log" >&2; exit 1; fi
      sleep 0.5
    done
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { log "$s not ready"; exit 1; }
    log "$s ready: http://127.0.0.1:$port  (API docs: http://127.0.0.1:$port/docs)"
  done
}

stop_services() {
  local s
  for s in "${SERVICES[@]}"; do
    if alive "$s"; then kill "$(cat "$VAR/run/$s.pid")" 2>/dev/null || true; log "$s stopped"; fi
    rm -f "$VAR/run/$s.pid"
  done
}

case "${1:-}" in
  "")
    infrastructure; start_services
    trap 'stop_services; exit 0' INT TERM
    log "platform running; Ctrl-C stops the services"
    (cd "$VAR/log" && tail -n 0 -F gateway.log registry.log sites.log inspection.log notifications.log) &
    wait
    ;;
  start) infrastructure; start_services ;;
  stop) stop_services ;;
  status) for s in "${SERVICES[@]}"; do if alive "$s"; then echo "$s: running on $(port_of "$s")"; else echo "$s: stopped"; fi; done ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
