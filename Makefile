# summitpad: `make run` starts the server, `make test` runs the whole suite.
# Each target sets up what it needs first: a virtual environment with the Python packages,
# the Node packages of the interop tests and front-end build, Debian's Chromium, and Debian's
# nginx (the deployment tests run deploy/nginx.conf in front of three nodes).
# `make bench` also installs the servers it compares summitpad with (`make bench-setup`).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PEERS_VENV := bench/.venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test venv node chromium nginx lint bundle bench bench-setup clean

run: $(STAMP)
	$(BIN)/summitpad serve

test: $(STAMP) node chromium nginx
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy
	$(BIN)/pytest

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

node: web/node_modules/.package-lock.json tests/interop/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

tests/interop/node_modules/.package-lock.json: tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error

chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

nginx:
	@test -x /usr/sbin/nginx || { \
	  echo "installing Debian's nginx for the deployment tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy

bundle: web/node_modules/.package-lock.json
	cd web && npm run build

bench: $(STAMP) bench-setup
	$(BIN)/python bench/run.py

# The benchmark's peers: @y/websocket-server on Node, and pycrdt-websocket in a virtual
# environment of its own so that summitpad's dependencies stay as they are.
bench-setup: bench/peers/node/node_modules/.package-lock.json $(PEERS_STAMP) $(BENCH_STAMP)

# The report's plots: matplotlib, into the project's venv (an extra, not a dependency).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench/peers/node/node_modules/.package-lock.json: bench/peers/node/package-lock.json
	cd bench/peers/node && npm ci --no-audit --no-fund --loglevel=error

$(PEERS_STAMP): bench/peers/requirements.txt
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/pip install --quiet -r bench/peers/requirements.txt
	touch $@

clean:
	rm -rf $(VENV) web/node_modules tests/interop/node_modules
	rm -rf $(PEERS_VENV) bench/peers/node/node_modules
