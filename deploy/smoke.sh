#!/usr/bin/env bash
# CI's check of the reference deployment (two minutes at most): the systemd units pass
# `systemd-analyze verify`, then the deployment is stood up from scratch with try-local.sh
# (a fresh state folder and database), deploy/smoke.py runs against it, and it is stopped.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export STATE="${STATE:-${TMPDIR:-/tmp}/berakhlak-deploy-smoke}"
export HTTPS_PORT="${HTTPS_PORT:-8543}" HTTP_PORT="${HTTP_PORT:-8180}" PGBOUNCER_PORT="${PGBOUNCER_PORT:-6443}"
PG_ADMIN="${PG_ADMIN:-postgresql://postgres@127.0.0.1:5432/postgres}"

# the units, with the install prefix mapped to this checkout (verify checks that commands exist)
units="$STATE/units"
rm -rf "$units" && mkdir -p "$units"
for unit in "$ROOT"/deploy/systemd/*; do
    sed "s#/opt/berakhlak#$ROOT#g" "$unit" > "$units/$(basename "$unit")"
done
cp "$units/berakhlak-web@.service" "$units/berakhlak-web@8001.service"
(cd "$units" && systemd-analyze verify --man=no ./*.service ./*.timer ./*.target 2>&1 | grep -v "berakhlak-web@.service" | tee "$STATE.verify") || true
if [ -s "$STATE.verify" ]; then echo "systemd-analyze verify found problems" >&2; exit 1; fi
echo "ok    systemd units verify"

"$ROOT/deploy/try-local.sh" stop >/dev/null 2>&1 || true
rm -rf "$STATE/etc" "$STATE/lib" "$STATE/log" "$STATE/run" "$STATE/nginx" "$STATE/backups"
psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS berakhlak WITH (FORCE)" >/dev/null
trap '"$ROOT/deploy/try-local.sh" stop >/dev/null 2>&1 || true' EXIT
"$ROOT/deploy/try-local.sh" start
"$ROOT/.venv/bin/python" "$ROOT/deploy/smoke.py" "$STATE"
