# BerAKHLAK task runner. `make help` lists every recipe.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= sqlite
TEST_PROCESSES ?= 2
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup assets browser pdf-libs run test test-postgres deploy-try deploy-smoke lint lock bench clean i18n

help: ## list the recipes
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# uv installs exactly what uv.lock lists; a machine without uv gets it from PyPI first.
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet 'uv==$(UV_VERSION)'

$(BIN)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra test --python $(PYTHON) --quiet
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

app/static/vendor/htmx.min.js: node_modules/.package-lock.json
	mkdir -p app/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

setup: $(BIN)/.installed assets ## install Python packages (venv) and front-end assets

app/static/vendor/sw.js: node_modules/.package-lock.json app/pwa/sw.js
	mkdir -p app/static/vendor
	node_modules/.bin/esbuild app/pwa/sw.js --bundle --minify --format=iife --target=es2019 \
		'--define:process.env.NODE_ENV="production"' --log-level=warning --outfile=$@

app/static/vendor/app.min.js: node_modules/.package-lock.json app/pwa/app.js
	mkdir -p app/static/vendor
	node_modules/.bin/esbuild app/pwa/app.js --minify --target=es2017 --log-level=warning --outfile=$@

assets: app/static/vendor/htmx.min.js app/static/vendor/app.min.js app/static/vendor/sw.js ## copy npm-installed front-end assets into app/static/vendor, build our script and the service worker

browser: ## install Debian's chromium for the browser tests, if absent
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

pdf-libs: ## install Pango and DejaVu fonts (for WeasyPrint's certificate PDFs) with apt, if absent
	@(ldconfig -p | grep -q libpangoft2-1.0 && fc-list | grep -qi dejavu) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null)

run: setup pdf-libs ## set up, then serve on http://127.0.0.1:8000 (SQLite in ./var, shipped course loaded)
	$(BIN)/berakhlak serve

test: setup browser pdf-libs ## set up, then run the whole test suite in two processes (TEST_DATABASE_URL=postgresql+psycopg://... for PostgreSQL)
	BERAKHLAK_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -n $(TEST_PROCESSES) $(PYTEST_ARGS)

PG_DIRECT := postgresql+psycopg://postgres@127.0.0.1:5432/test
PG_POOLED := postgresql+psycopg://postgres@127.0.0.1:6432/test

test-postgres: ## the suite against the local PostgreSQL database `test` through PgBouncer in transaction mode (browser journeys: the smoke one only)
	tests/pgbouncer/start.sh
	BERAKHLAK_TEST_DIRECT_DATABASE_URL=$(PG_DIRECT) $(MAKE) test TEST_DATABASE_URL=$(PG_POOLED) PYTEST_ARGS="-m 'not browser or smoke' $(PYTEST_ARGS)"

deploy-try: setup ## stand the reference deployment up on this machine (deploy/try-local.sh start; stop with deploy/try-local.sh stop)
	deploy/try-local.sh start

deploy-smoke: setup ## the reference deployment's smoke test, from scratch (what CI runs)
	deploy/smoke.sh

lint: setup ## ruff, mypy and the import contracts between modules (import-linter)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

lock: | $(UV) ## refresh uv.lock after changing the dependencies in pyproject.toml
	$(UV) lock

bench: setup ## run the lesson page benchmark (needs wrk)
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python bench/lesson_page.py

clean: ## remove the venv, node_modules, built assets and the local database
	rm -rf $(VENV) .tools node_modules app/static/vendor var

i18n: setup ## extract translatable messages and update the id/en catalogues
	$(BIN)/pybabel extract --ignore-dirs ".* node_modules .venv var" -F app/locales/babel.cfg -k N_ -k _ -k tr -o app/locales/messages.pot --no-location --omit-header .
	$(BIN)/pybabel update -i app/locales/messages.pot -d app/locales -D messages --no-fuzzy-matching
