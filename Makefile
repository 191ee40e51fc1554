# Thin aliases for the hodo command. `make serve` and `make test` each create the virtual
# environment and install HODO into it first, so both work on a fresh machine.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
NPM ?= npm
# npm's record of what `npm ci` installed: newer than the lock file when the install is current.
UI := node_modules/.package-lock.json

.PHONY: install ui build validate serve test lint bench clean

$(BIN)/hodo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/hodo

# The query page's front end (YASGUI), from the npm registry as package-lock.json pins it. Without
# npm the page is a plain form, and the query UI tests fail.
$(UI): package.json package-lock.json
	@if command -v $(NPM) >/dev/null; then \
		$(NPM) ci --no-audit --no-fund --ignore-scripts && touch $@; \
	else echo "npm not found: the query page will be a plain form"; fi

ui: $(UI)

dist/hodo.nq: $(BIN)/hodo $(wildcard ontology/*.ttl ontology/*/*.ttl ontology/mappings/*.tsv shapes/*.ttl)
	$(BIN)/hodo build

build: dist/hodo.nq

validate: $(BIN)/hodo
	$(BIN)/hodo validate

serve: dist/hodo.nq $(UI)
	$(BIN)/hodo serve --host $(HOST) --port $(PORT)

lint: $(BIN)/hodo
	$(BIN)/ruff check src tests server.py

test: lint $(UI)
	$(BIN)/pytest

# HODO's production server beside the Oxigraph server on the same data (see README, Performance);
# BENCH_ARGS passes options, e.g. BENCH_ARGS='--scale 4,5,6,7'.
bench: dist/hodo.nq $(UI)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf dist .pytest_cache .ruff_cache
