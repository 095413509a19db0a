# MissionOps: `make run` and `make test` work on a fresh machine (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv dev-deps assets services db browser cluster-tools lint fmt clean

$(VENV)/bin/activate:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (MissionOps uses Django 5.2 LTS)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.stamp-base: requirements/base.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.stamp-dev: requirements/dev.txt requirements/base.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements/dev.txt
	touch $@ $(VENV)/.stamp-base

venv: $(VENV)/.stamp-base
dev-deps: $(VENV)/.stamp-dev

# Browser libraries come from the npm registry at set-up time, never from a CDN at run time.
static/vendor/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor/leaflet static/vendor/uplot static/vendor/world-atlas static/vendor/topojson
	cp -r node_modules/leaflet/dist/. static/vendor/leaflet/
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css static/vendor/uplot/
	cp node_modules/world-atlas/countries-110m.json node_modules/world-atlas/land-110m.json static/vendor/world-atlas/
	cp node_modules/topojson-client/dist/topojson-client.min.js static/vendor/topojson/
	mkdir -p static/vendor/axe-core && cp node_modules/axe-core/axe.min.js static/vendor/axe-core/
	touch $@

assets: static/vendor/.stamp

# PostgreSQL and Redis reachable (one clear sentence if not), database created.
services: venv
	@$(PY) -m missionops.bootstrap

db: services
	$(MANAGE) migrate --noinput

run: dev-deps assets db
	DEMO_SUPERUSER_ALLOWED=true $(MANAGE) seed_demo --demo-superuser
	$(MANAGE) collectstatic --noinput -v 0
	@echo ""
	@echo "MissionOps is starting at http://$(HOST):$(PORT)/  (demo login: demo / missionops-demo)"
	@echo "API docs at http://$(HOST):$(PORT)/api/docs/ · admin at http://$(HOST):$(PORT)/admin/ · Ctrl-C stops everything"
	@echo ""
	HOST=$(HOST) PORT=$(PORT) METRICS_ALLOW_LOOPBACK=true $(PY) -m missionops.supervise Procfile

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else sudo apt-get install -y -q chromium >/dev/null; fi; }

test: dev-deps assets browser cluster-tools services
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Debian's nats-server (event-stream tests), kubectl (kustomize renders), iproute2 (cluster drill).
cluster-tools:
	@for tool in nats-server:nats-server kubectl:kubectl ip:iproute2; do \
	  command -v $${tool%%:*} >/dev/null || test -x /usr/sbin/$${tool%%:*} || missing="$$missing $${tool#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q $$missing >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null; }; \
	  else sudo apt-get install -y -q $$missing >/dev/null; fi; fi

lint:
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles
