#!/usr/bin/env bash
# Runs the platform: infrastructure (Kafka + MongoDB-wire database) and the service processes.
#
#   deploy/run.sh          start everything, follow the logs, stop the services on Ctrl-C
#   deploy/run.sh start    start everything in the background and return once all answer /readyz
#   deploy/run.sh stop     stop the service processes (deploy/native.sh stop stops the infrastructure)
#   deploy/run.sh status
#
# NRMM_INSTANCES=N (default 1): N processes of each service behind the gateway (instance k > 1 of the service on
# port base+i listens on base+10*(k-1)+i, logs to <service>-<k>.log); the gateway, the single entry point, stays one
# process and balances over them (round-robin, the next instance when one refuses the connection).
#
# Infrastructure, in this order: NRMM_KAFKA_BOOTSTRAP + NRMM_MONGODB_URL if both are set;
# else docker compose (Apache Kafka KRaft + mongo:7) where a Docker engine answers; else deploy/native.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${NRMM_VAR_DIR:-$ROOT/var}"
PORT_BASE="${NRMM_PORT_BASE:-8000}"
# the gateway (the single entry point) on the base port, the services on base+1 .. base+4
SERVICES=(gateway registry sites inspection notifications)
INSTANCES="${NRMM_INSTANCES:-1}"
case "$INSTANCES" in ''|*[!0-9]*|0) echo "NRMM_INSTANCES must be a positive number" >&2; exit 2 ;; esac
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

# the processes: "gateway", "registry", "registry-2", ... (instance 1 keeps the service's own name)
processes() {
  local s k
  for s in "${SERVICES[@]}"; do
    echo "$s"
    if [ "$s" != gateway ]; then for k in $(seq 2 "$INSTANCES"); do echo "$s-$k"; done; fi
  done
}
service_of() { echo "${1%-[0-9]*}"; }
instance_port() {  # the port of a process: its service's port, +10 per instance after the first
  local s k=1
  s=$(service_of "$1"); [ "$s" != "$1" ] && k="${1##*-}"
  echo $(( $(port_of "$s") + 10 * (k - 1) ))
}
urls_of() {  # every instance of a service, comma-separated
  local s="$1" k list
  list="http://127.0.0.1:$(port_of "$s")"
  if [ "$s" != gateway ]; then
    for k in $(seq 2 "$INSTANCES"); do list="$list,http://127.0.0.1:$(instance_port "$s-$k")"; done
  fi
  echo "$list"
}
# every service's pid file there is (a stop or status after a run with more instances finds them all); the
# infrastructure's (deploy/native.sh keeps kafka.pid and ferretdb.pid in the same directory) are not the services'
known() {
  local f name s
  for f in "$VAR"/run/*.pid; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .pid)"
    for s in "${SERVICES[@]}"; do
      if [ "$(service_of "$name")" = "$s" ]; then echo "$name"; break; fi
    done
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
  local s p port
  for s in "${SERVICES[@]}"; do
    export "NRMM_${s^^}_URL=$(urls_of "$s")"  # how the services find each other (every instance)
  done
  # a development platform: SMS codes are read from the outbox (GET /api/notifications/outbox)
  export NRMM_OUTBOX_READABLE="${NRMM_OUTBOX_READABLE:-true}"
  for p in $(processes); do
    s=$(service_of "$p"); port=$(instance_port "$p")
    if alive "$p"; then log "$p already running"; continue; fi
    # NRMM_BOOTSTRAP_ADMIN_* (the first administrator), when set, go to the gateway only
    local keep=()
    if [ "$s" != gateway ]; then keep=(-u NRMM_BOOTSTRAP_ADMIN_USERNAME -u NRMM_BOOTSTRAP_ADMIN_PASSWORD); fi
    NRMM_SERVICE_NAME="$s" nohup env "${keep[@]}" "$ROOT/.venv/bin/uvicorn" "$s.main:create_app" --factory \
      --host 127.0.0.1 --port "$port" --no-access-log --no-proxy-headers >>"$VAR/log/$p.log" 2>&1 &
    echo $! > "$VAR/run/$p.pid"
  done
  for p in $(processes); do
    port=$(instance_port "$p")
    for _ in $(seq 1 120); do
      if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
      if ! alive "$p"; then log "$p exited; see $VAR/log/$p.log"; tail -20 "$VAR/log/$p.log" >&2; exit 1; fi
      sleep 0.5
    done
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { log "$p not ready"; exit 1; }
    log "$p ready: http://127.0.0.1:$port  (API docs: http://127.0.0.1:$port/docs)"
  done
}

stop_services() {
  local p
  for p in $(known); do
    if alive "$p"; then kill "$(cat "$VAR/run/$p.pid")" 2>/dev/null || true; log "$p stopped"; fi
    rm -f "$VAR/run/$p.pid"
  done
}

case "${1:-}" in
  "")
    infrastructure; start_services
    trap 'stop_services; exit 0' INT TERM
    log "platform running; Ctrl-C stops the services"
    (cd "$VAR/log" && tail -n 0 -F $(for p in $(processes); do echo "$p.log"; done)) &
    wait
    ;;
  start) infrastructure; start_services ;;
  stop) stop_services ;;
  status) for p in $(processes); do if alive "$p"; then echo "$p: running on $(instance_port "$p")"; else echo "$p: stopped"; fi; done ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
