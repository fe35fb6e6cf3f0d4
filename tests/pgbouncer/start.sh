#!/usr/bin/env bash
# Start (or find running) the PgBouncer the PostgreSQL run of the suite goes through:
# transaction pooling, one wildcard entry for every database on 127.0.0.1:5432, no auth
# (the local PostgreSQL trusts 127.0.0.1). Idempotent: one already running is reloaded when this
# configuration changed, and nothing is printed.
# Debian's pgbouncer refuses to run as root: as root it drops to the postgres user (-u).
set -euo pipefail
PORT="${BERAKHLAK_TEST_PGBOUNCER_PORT:-6432}"
DIR="${TMPDIR:-/tmp}/berakhlak-pgbouncer-$PORT"

command -v pgbouncer >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
}
mkdir -p "$DIR"
echo '"postgres" ""' > "$DIR/userlist.txt"
[ -f "$DIR/pgbouncer.ini" ] && cp "$DIR/pgbouncer.ini" "$DIR/pgbouncer.ini.running"
# statement_timeout cannot travel through PgBouncer as a startup option, and a SET made by the
# app would reach one server connection only: connect_query sets it on every one.
cat > "$DIR/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432 connect_query='SET statement_timeout = 30000'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
; PostgreSQL allows 100 connections: the pooler keeps 60 of them, the rest stay for the
; suite's direct work (creating databases) and psql
max_user_connections = 60
server_idle_timeout = 30
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
; the admin console (KILL/RESUME a database before a restore test)
admin_users = postgres
INI
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  # running: reload if this script's configuration changed since it started
  if ! cmp -s "$DIR/pgbouncer.ini" "$DIR/pgbouncer.ini.running" 2>/dev/null && [ -f "$DIR/pgbouncer.pid" ]; then
    kill -HUP "$(cat "$DIR/pgbouncer.pid")"
  fi
  exit 0
fi
user=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres "$DIR"
  user=(-u postgres)
fi
pgbouncer -d "${user[@]}" "$DIR/pgbouncer.ini"
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && exit 0
  sleep 0.1
done
echo "PgBouncer did not start; see $DIR/pgbouncer.log" >&2
exit 1
