#!/usr/bin/env bash
# Native infrastructure for machines without a Docker engine:
#   Apache Kafka (KRaft, single node: broker + controller) from Maven Central jars,
#   FerretDB v1.24.2 (MongoDB wire protocol) on a private PostgreSQL cluster (Debian's postgresql).
#   PostgreSQL rather than SQLite: FerretDB pushes equality filters down to PostgreSQL, while on
#   SQLite every query scanned the collection in FerretDB (measured: 5 appends/s at 2,000 commits).
# Everything lives under var/ (git-ignored): downloads, builds, data, logs, pids.
#
#   deploy/native.sh install   fetch and build (idempotent, reuses downloads)
#   deploy/native.sh start     install if needed, start both, wait until they answer
#   deploy/native.sh stop      stop both
#   deploy/native.sh status    show what runs
#   deploy/native.sh env       print the NRMM_* endpoint variables (for eval)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${NRMM_VAR_DIR:-$ROOT/var}"
CACHE="${NRMM_CACHE_DIR:-$VAR/cache}"
KAFKA_VERSION="${NRMM_KAFKA_VERSION:-3.9.1}"
FERRETDB_VERSION="v1.24.2"
KAFKA_PORT="${NRMM_NATIVE_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${NRMM_NATIVE_KAFKA_CONTROLLER_PORT:-9093}"
FERRETDB_PORT="${NRMM_NATIVE_FERRETDB_PORT:-27017}"
PG_PORT="${NRMM_NATIVE_PG_PORT:-5433}"
# PostgreSQL's own cache (its default is 128 MB): the hot paths' index and heap pages at city scale
PG_SHARED_BUFFERS="${NRMM_NATIVE_PG_SHARED_BUFFERS:-1GB}"

# where a running instance keeps its data, logs and pids: another directory (with other ports) runs a second,
# separate instance from the same binaries (the fault tests start their own broker and database so)
STATE="${NRMM_NATIVE_STATE_DIR:-$VAR}"

KAFKA_HOME="$VAR/kafka-$KAFKA_VERSION"
KAFKA_DATA="$STATE/data/kafka"
FERRETDB_BIN="$VAR/bin/ferretdb-$FERRETDB_VERSION"
PG_ROOT="$STATE/postgres"
LOGS="$STATE/log"
RUN="$STATE/run"

log() { printf '[native] %s\n' "$*" >&2; }

# Data and logs hold personal data (#14): readable by their owner only. New files are made so (umask); files made
# before are closed too. (Not $STATE itself: PostgreSQL's user must still pass through it to its own directory.)
umask 077
private() { local d; for d in "$@"; do if [ -e "$d" ]; then chmod -R go-rwx "$d"; fi; done; }

need() {
  # Debian packages as a fallback when a tool is missing on a new machine.
  local cmd="$1" pkg="$2"
  if ! command -v "$cmd" >/dev/null 2>&1; then
    log "installing $pkg (for $cmd)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

install_kafka() {
  if [ -f "$KAFKA_HOME/.complete" ]; then return; fi
  need java openjdk-17-jre-headless
  need mvn maven
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central"
  mkdir -p "$KAFKA_HOME/libs" "$CACHE/m2"
  sed "s/@KAFKA_VERSION@/$KAFKA_VERSION/" "$ROOT/deploy/kafka/pom.xml" > "$KAFKA_HOME/pom.xml"
  mvn -q -B -f "$KAFKA_HOME/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs"
  touch "$KAFKA_HOME/.complete"
}

install_ferretdb() {
  if [ -x "$FERRETDB_BIN" ]; then return; fi
  need go golang-go
  log "building FerretDB $FERRETDB_VERSION from the Go module proxy"
  export GOMODCACHE="${GOMODCACHE:-$CACHE/gomod}" GOFLAGS="${GOFLAGS:-} -modcacherw"
  local src
  # `go install ...@v1.24.2` builds a binary that panics at start: the module ships without
  # build/version/version.txt. Build from the module source with that file written.
  src="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rm -rf "$VAR/build/ferretdb" && mkdir -p "$VAR/build" "$VAR/bin"
  cp -r "$src" "$VAR/build/ferretdb" && chmod -R u+w "$VAR/build/ferretdb"
  echo "$FERRETDB_VERSION" > "$VAR/build/ferretdb/build/version/version.txt"
  (cd "$VAR/build/ferretdb" && go build -o "$FERRETDB_BIN" ./cmd/ferretdb)
  rm -rf "$VAR/build/ferretdb"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_postgres() { runuser -u postgres -- "$@"; }

install_postgres() {
  if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
    log "installing PostgreSQL from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  # the server refuses to run as root: its files belong to the postgres user, who must reach them
  if ! as_postgres test -x "$STATE"; then
    PG_ROOT="/var/tmp/nrmm-postgres-$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)"
  fi
  mkdir -p "$PG_ROOT" && chown postgres "$PG_ROOT" && private "$PG_ROOT"
}

start_postgres() {
  install_postgres
  local bin; bin="$(pg_bin)"
  if [ ! -f "$PG_ROOT/data/PG_VERSION" ]; then
    log "creating the PostgreSQL cluster for FerretDB"
    as_postgres "$bin/initdb" -D "$PG_ROOT/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_postgres "$bin/pg_ctl" -D "$PG_ROOT/data" status >/dev/null 2>&1; then
    log "postgresql already running"
  else
    log "starting postgresql on 127.0.0.1:$PG_PORT"
    as_postgres "$bin/pg_ctl" -D "$PG_ROOT/data" -w -t 60 -l "$PG_ROOT/postgres.log" \
      -o "-p $PG_PORT -k $PG_ROOT -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 \
          -c shared_buffers=$PG_SHARED_BUFFERS" start >/dev/null
  fi
  as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='ferretdb'" | grep -q 1 \
    || as_postgres "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres ferretdb
  # index-backed lookups: a GIN sibling for every index FerretDB makes (see the file)
  as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d ferretdb -q -v ON_ERROR_STOP=1 \
    -f "$ROOT/deploy/postgres/gin-siblings.sql" >/dev/null
}

stop_postgres() {
  install_postgres >/dev/null 2>&1 || true
  local bin; bin="$(pg_bin)"
  if [ -n "$bin" ] && [ -f "$PG_ROOT/data/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$PG_ROOT/data" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$PG_ROOT/data" -m fast stop >/dev/null && log "postgresql stopped"
  fi
}

start_kafka() {
  if pid_alive kafka && port_open "$KAFKA_PORT"; then log "kafka already running"; return; fi
  mkdir -p "$KAFKA_DATA" "$LOGS" "$RUN"
  private "$STATE/data" "$LOGS" "$RUN"
  local props="$STATE/kafka-server.properties"
  sed -e "s#@DATA@#$KAFKA_DATA#" -e "s/@PORT@/$KAFKA_PORT/g" -e "s/@CPORT@/$KAFKA_CONTROLLER_PORT/g" \
    "$ROOT/deploy/kafka/server.properties" > "$props"
  local cp="$KAFKA_HOME/libs/*"
  local log4j="-Dlog4j.configuration=file:$ROOT/deploy/kafka/log4j.properties"
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    log "formatting KRaft storage"
    java -cp "$cp" "$log4j" kafka.tools.StorageTool format -t "$(java -cp "$cp" "$log4j" kafka.tools.StorageTool random-uuid)" -c "$props" >>"$LOGS/kafka.log" 2>&1
  fi
  log "starting kafka on 127.0.0.1:$KAFKA_PORT"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true "$log4j" -cp "$cp" kafka.Kafka "$props" \
    >>"$LOGS/kafka.log" 2>&1 &
  echo $! > "$RUN/kafka.pid"
}

start_ferretdb() {
  if pid_alive ferretdb && port_open "$FERRETDB_PORT"; then log "ferretdb already running"; return; fi
  mkdir -p "$STATE/state/ferretdb" "$LOGS" "$RUN"
  private "$STATE/state" "$LOGS" "$RUN"
  start_postgres
  log "starting ferretdb on 127.0.0.1:$FERRETDB_PORT (postgresql backend)"
  nohup "$FERRETDB_BIN" --handler=postgresql \
    --postgresql-url="postgres://postgres@127.0.0.1:$PG_PORT/ferretdb?pool_max_conns=150" \
    --state-dir="$STATE/state/ferretdb" --listen-addr="127.0.0.1:$FERRETDB_PORT" \
    --debug-addr=- --telemetry=disable --log-level=warn \
    >>"$LOGS/ferretdb.log" 2>&1 &
  echo $! > "$RUN/ferretdb.pid"
}

wait_port() {
  local name="$1" port="$2" deadline=$((SECONDS + ${3:-90}))
  until port_open "$port"; do
    if ! pid_alive "$name"; then log "$name exited; last log lines:"; tail -20 "$LOGS/$name.log" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then log "$name did not open port $port in time"; tail -20 "$LOGS/$name.log" >&2; exit 1; fi
    sleep 0.5
  done
  log "$name answers on 127.0.0.1:$port"
}

stop_one() {
  if pid_alive "$1"; then
    local pid; pid="$(cat "$RUN/$1.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "$1 stopped"
  fi
  rm -f "$RUN/$1.pid"
}

print_env() {
  echo "export NRMM_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"
  echo "export NRMM_MONGODB_URL=mongodb://127.0.0.1:$FERRETDB_PORT/"
}

case "${1:-}" in
  install) install_kafka; install_ferretdb ;;
  start)
    install_kafka; install_ferretdb
    start_ferretdb; start_kafka
    wait_port ferretdb "$FERRETDB_PORT" 30
    wait_port kafka "$KAFKA_PORT" 120
    ;;
  stop) stop_one kafka; stop_one ferretdb; stop_postgres ;;
  status)
    for s in kafka ferretdb; do
      if pid_alive "$s"; then echo "$s: running (pid $(cat "$RUN/$s.pid"))"; else echo "$s: stopped"; fi
    done
    install_postgres >/dev/null 2>&1 || true
    if as_postgres "$(pg_bin)/pg_ctl" -D "$PG_ROOT/data" status >/dev/null 2>&1; then echo "postgresql: running"; else echo "postgresql: stopped"; fi
    ;;
  env) print_env ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
