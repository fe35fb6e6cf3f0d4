#!/usr/bin/env bash
# The reference deployment on this machine, without systemd: the same command lines as the
# units in deploy/systemd (read from their ExecStart=), from the same environment file
# (deploy/berakhlak.env, its CHANGE-ME values filled in), with the same nginx and PgBouncer
# configs. The install paths are mapped into a state folder:
#   /opt/berakhlak -> this checkout        /etc/berakhlak, /etc/pgbouncer -> $STATE/etc
#   /var/lib/berakhlak -> $STATE/lib       /var/log/berakhlak, /var/log/postgresql -> $STATE/log
#   /run/berakhlak, /run/postgresql -> $STATE/run        /var/backups/berakhlak -> $STATE/backups
# and the ports: 443 -> $HTTPS_PORT, 80 -> $HTTP_PORT, PgBouncer 6432 -> $PGBOUNCER_PORT.
# PostgreSQL is the machine's own (127.0.0.1:5432, as in CI); the script creates the role and
# database `berakhlak` in it.
#
#   deploy/try-local.sh start | stop | status     (start again: starts what is not running)
#
# Needs the venv (`make setup`); installs nginx and pgbouncer with apt when they are missing.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${STATE:-${TMPDIR:-/tmp}/berakhlak-deploy}"
HTTPS_PORT="${HTTPS_PORT:-8443}"
HTTP_PORT="${HTTP_PORT:-8080}"
PGBOUNCER_PORT="${PGBOUNCER_PORT:-6442}"
PG_ADMIN="${PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}"
WEB_PORTS=(8001 8002)

# Links in mail must lead somewhere: production refuses to mail links to a loopback address, so
# the try-out names this machine by its first network address (BERAKHLAK_TRY_HOST overrides;
# with none, localhost: mail is then refused, as production would).
try_host() {
    local host="${BERAKHLAK_TRY_HOST:-$(hostname -I 2>/dev/null | awk '{print $1}')}"
    case "$host" in
        "") echo localhost ;;
        *:*) echo "[$host]" ;;
        *) echo "$host" ;;
    esac
}

localise() {
    sed -e "s#/opt/berakhlak#$ROOT#g" \
        -e "s#/etc/berakhlak#$STATE/etc#g" -e "s#/etc/pgbouncer#$STATE/etc#g" \
        -e "s#/var/lib/berakhlak#$STATE/lib#g" -e "s#/var/backups/berakhlak#$STATE/backups#g" \
        -e "s#/var/log/berakhlak#$STATE/log#g" -e "s#/var/log/postgresql#$STATE/log#g" \
        -e "s#/var/log/nginx#$STATE/log#g" \
        -e "s#/run/berakhlak#$STATE/run#g" -e "s#/run/postgresql#$STATE/run#g" \
        -e "s#listen 443 #listen $HTTPS_PORT #" -e "s#listen 80;#listen $HTTP_PORT;#" \
        -e "s#:6432/#:$PGBOUNCER_PORT/#g" -e "s#^listen_port = 6432#listen_port = $PGBOUNCER_PORT#"
}

# the ExecStart= command line of a unit, localised, with %i filled in
command_of() {
    local line
    line="$(grep '^ExecStart=' "$ROOT/deploy/systemd/$1" | head -1 | sed 's/^ExecStart=//')"
    printf '%s' "$line" | localise | sed -e "s/%i/${2:-}/g" -e 's/%%/%/g'
}

need() {  # command, Debian package
    command -v "$1" >/dev/null 2>&1 && return
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "$2" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; }
}

running() { [ -f "$STATE/run/$1.app.pid" ] && kill -0 "$(cat "$STATE/run/$1.app.pid")" 2>/dev/null; }

pids() { cat "$STATE"/run/*.app.pid 2>/dev/null || true; }

stop() {
    for pid in $(pids); do kill "$pid" 2>/dev/null || true; done
    if [ -f "$STATE/run/nginx.pid" ]; then kill -QUIT "$(cat "$STATE/run/nginx.pid")" 2>/dev/null || true; fi
    if [ -f "$STATE/run/pgbouncer.pid" ]; then kill "$(cat "$STATE/run/pgbouncer.pid")" 2>/dev/null || true; fi
    for pid in $(pids); do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    rm -f "$STATE"/run/*.app.pid
    echo "stopped"
}

status() {
    for file in "$STATE"/run/*.app.pid; do
        [ -f "$file" ] || continue
        if running "$(basename "$file" .app.pid)"; then echo "$(basename "$file" .app.pid): running"; else echo "$(basename "$file" .app.pid): stopped"; fi
    done
}

start() {
    need nginx nginx-light
    need pgbouncer pgbouncer
    need openssl openssl
    [ -x "$ROOT/.venv/bin/berakhlak" ] || { echo "run 'make setup' first" >&2; exit 2; }
    mkdir -p "$STATE"/{etc/tls,lib,log,run,backups,nginx}
    chmod 755 "$STATE" "$STATE"/etc "$STATE"/log "$STATE"/run
    [ "$(id -u)" = 0 ] && chown postgres "$STATE/log" "$STATE/run"  # PgBouncer runs as postgres

    # the environment file, its CHANGE-ME values filled in once
    local env="$STATE/etc/berakhlak.env"
    if [ ! -f "$env" ]; then
        local secret password
        secret="$("$ROOT/.venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(48))')"
        password="$("$ROOT/.venv/bin/python" -c 'import secrets; print(secrets.token_hex(16))')"
        localise < "$ROOT/deploy/berakhlak.env" \
            | sed -e "s#CHANGE-ME-to-48-random-characters#$secret#" \
                  -e "s#CHANGE-ME-db-password#$password#g" \
                  -e "s#https://berakhlak.example.go.id#https://$(try_host):$HTTPS_PORT#" > "$env"
        chmod 600 "$env"
        printf '"berakhlak" "%s"\n' "$password" > "$STATE/etc/userlist.txt"
        chmod 644 "$STATE/etc/userlist.txt"
    fi
    local password
    password="$(sed -n 's/^"berakhlak" "\(.*\)"$/\1/p' "$STATE/etc/userlist.txt")"

    # PostgreSQL: the role and database, once
    psql -q "$PG_ADMIN" -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE ROLE berakhlak LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berakhlak') \gexec
ALTER ROLE berakhlak PASSWORD '$password';
SELECT 'CREATE DATABASE berakhlak OWNER berakhlak' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'berakhlak') \gexec
SQL

    # PgBouncer with deploy/pgbouncer.ini
    localise < "$ROOT/deploy/pgbouncer.ini" > "$STATE/etc/pgbouncer.ini"
    chmod 644 "$STATE/etc/pgbouncer.ini"
    if ! { [ -f "$STATE/run/pgbouncer.pid" ] && kill -0 "$(cat "$STATE/run/pgbouncer.pid")" 2>/dev/null; }; then
        if [ "$(id -u)" = 0 ]; then pgbouncer -d -u postgres "$STATE/etc/pgbouncer.ini"; else pgbouncer -d "$STATE/etc/pgbouncer.ini"; fi
    fi

    # TLS: a self-signed certificate for the try-out
    if [ ! -f "$STATE/etc/tls/berakhlak.crt" ]; then
        local names="DNS:localhost,IP:127.0.0.1" host
        host="$(try_host)"
        host="${host#[}"
        host="${host%]}"
        [ "$host" != localhost ] && names="$names,IP:$host"
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
            -addext "subjectAltName=$names" \
            -keyout "$STATE/etc/tls/berakhlak.key" -out "$STATE/etc/tls/berakhlak.crt" 2>/dev/null
    fi

    set -a
    # shellcheck disable=SC1090
    . "$env"
    set +a
    cd "$ROOT"
    eval "$(command_of berakhlak-migrate.service)" > "$STATE/log/migrate.log" 2>&1 \
        || { echo "migration failed: $STATE/log/migrate.log" >&2; tail -20 "$STATE/log/migrate.log" >&2; exit 1; }
    for port in "${WEB_PORTS[@]}"; do
        running "web-$port" && continue
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/livez" 2>/dev/null; then
            echo "port $port is taken by another process: stop it first" >&2; exit 1
        fi
        eval "exec $(command_of berakhlak-web@.service "$port")" >> "$STATE/log/web-$port.log" 2>&1 &
        echo $! > "$STATE/run/web-$port.app.pid"
    done
    if ! running worker; then
        eval "exec $(command_of berakhlak-worker.service)" >> "$STATE/log/worker.log" 2>&1 &
        echo $! > "$STATE/run/worker.app.pid"
    fi

    # nginx with deploy/nginx/berakhlak.conf inside a minimal main config
    localise < "$ROOT/deploy/nginx/berakhlak.conf" > "$STATE/etc/berakhlak.nginx.conf"
    cat > "$STATE/etc/nginx.conf" <<NGINX
worker_processes 1;
pid $STATE/run/nginx.pid;
error_log $STATE/log/nginx-error.log warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $STATE/log/nginx-access.log;
    client_body_temp_path $STATE/nginx/body;
    proxy_temp_path $STATE/nginx/proxy;
    fastcgi_temp_path $STATE/nginx/fastcgi;
    uwsgi_temp_path $STATE/nginx/uwsgi;
    scgi_temp_path $STATE/nginx/scgi;
    sendfile on;
    include $STATE/etc/berakhlak.nginx.conf;
}
NGINX
    if [ -f "$STATE/run/nginx.pid" ] && kill -0 "$(cat "$STATE/run/nginx.pid")" 2>/dev/null; then
        nginx -p "$STATE/nginx" -c "$STATE/etc/nginx.conf" -s reload
    else
        nginx -p "$STATE/nginx" -c "$STATE/etc/nginx.conf"
    fi

    # ready when both app processes and nginx answer
    local deadline=$((SECONDS + 90))
    for port in "${WEB_PORTS[@]}"; do
        until curl -fsS -o /dev/null "http://127.0.0.1:$port/livez" 2>/dev/null; do
            [ $SECONDS -lt $deadline ] || { echo "web $port did not start: $STATE/log/web-$port.log" >&2; tail -20 "$STATE/log/web-$port.log" >&2; exit 1; }
            kill -0 "$(cat "$STATE/run/web-$port.app.pid")" 2>/dev/null || { echo "web $port exited" >&2; tail -20 "$STATE/log/web-$port.log" >&2; exit 1; }
            sleep 0.2
        done
    done
    curl -fsS -o /dev/null --cacert "$STATE/etc/tls/berakhlak.crt" "https://localhost:$HTTPS_PORT/readyz"
    echo "serving https://localhost:$HTTPS_PORT, links in mail: $(sed -n 's/^BERAKHLAK_BASE_URL=//p' "$STATE/etc/berakhlak.env") (certificate: $STATE/etc/tls/berakhlak.crt; logs: $STATE/log; mail: $STATE/lib/mail)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
