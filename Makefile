# summitpad: `make run` starts the server, `make test` runs the whole suite.
# Each target sets up what it needs first: a virtual environment with the Python packages,
# the Node packages of the interop tests and front-end build, and Debian's Chromium.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv node chromium lint bundle bench clean

run: $(STAMP)
	$(BIN)/summitpad serve

test: $(STAMP) node chromium
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

lint: $(STAMP)
	$(BIN)/ruff check server tests bench
	$(BIN)/mypy

bundle: web/node_modules/.package-lock.json
	cd web && npm run build

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) web/node_modules tests/interop/node_modules
