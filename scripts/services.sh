#!/usr/bin/env bash
# Start (or reuse) the local services the integration tests use, on loopback only, and print their URLs
# as shell exports: eval "$(scripts/services.sh start)". Idempotent: a running service is reused.
# A service whose binaries are not installed is reported on stderr and left out (its tests then skip,
# except under CI=true where they fail). Usage: scripts/services.sh start|stop|env
set -euo pipefail

# Outside $HOME: the postgres account must reach the data directory, and root's home is private.
STATE="${MLPY_SERVICES_DIR:-/var/tmp/mlpy-services-$(id -u)}"
PG_PORT="${MLPY_PG_PORT:-55432}"
REDIS_PORT="${MLPY_REDIS_PORT:-56379}"
PUSHGW_PORT="${MLPY_PUSHGATEWAY_PORT:-59091}"
mkdir -p "$STATE"

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  return 1
}

as_pg_user() {
  # initdb and postgres refuse to run as root; use the postgres account Debian's package creates.
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  local bin
  bin=$(pg_bin) || { echo "services: PostgreSQL not installed (apt-get install postgresql)" >&2; return 0; }
  mkdir -p "$STATE/pg"
  if [ "$(id -u)" = 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    chmod 755 "$STATE"
    chown -R postgres "$STATE/pg"
  fi
  if [ ! -f "$STATE/pg/data/PG_VERSION" ]; then
    as_pg_user "$bin/initdb" -D "$STATE/pg/data" -U mlpy --auth=trust -E UTF8 >"$STATE/pg/initdb.log" 2>&1
  fi
  if ! as_pg_user "$bin/pg_ctl" -D "$STATE/pg/data" status >/dev/null 2>&1; then
    as_pg_user "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w -t 60 \
      -o "-p $PG_PORT -k $STATE/pg -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  fi
  echo "export MLPY_TEST_POSTGRES_URL=postgresql://mlpy@127.0.0.1:$PG_PORT/postgres"
}

start_redis() {
  command -v redis-server >/dev/null || { echo "services: Redis not installed (apt-get install redis-server)" >&2; return 0; }
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
      --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" >/dev/null
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export MLPY_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

start_pushgateway() {
  local exe
  exe=$(command -v prometheus-pushgateway || true)
  [ -n "$exe" ] || { echo "services: Pushgateway not installed (apt-get install prometheus-pushgateway)" >&2; return 0; }
  if ! curl -fsS "http://127.0.0.1:$PUSHGW_PORT/-/ready" >/dev/null 2>&1; then
    nohup "$exe" --web.listen-address="127.0.0.1:$PUSHGW_PORT" >"$STATE/pushgateway.log" 2>&1 &
    echo $! >"$STATE/pushgateway.pid"
    for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PUSHGW_PORT/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export MLPY_TEST_PUSHGATEWAY_URL=http://127.0.0.1:$PUSHGW_PORT"
}

stop_all() {
  local bin
  if bin=$(pg_bin) && [ -f "$STATE/pg/data/PG_VERSION" ]; then
    as_pg_user "$bin/pg_ctl" -D "$STATE/pg/data" -m fast stop >/dev/null 2>&1 || true
  fi
  command -v redis-cli >/dev/null && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  [ -f "$STATE/pushgateway.pid" ] && kill "$(cat "$STATE/pushgateway.pid")" 2>/dev/null || true
  rm -f "$STATE/pushgateway.pid"
}

case "${1:-start}" in
  start|env) start_postgres; start_redis; start_pushgateway ;;
  stop) stop_all ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
