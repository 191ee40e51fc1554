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

.PHONY: install build validate serve test lint clean

$(BIN)/hodo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/hodo

dist/hodo.nq: $(BIN)/hodo $(wildcard ontology/*.ttl ontology/*/*.ttl ontology/mappings/*.tsv)
	$(BIN)/hodo build

build: dist/hodo.nq

validate: $(BIN)/hodo
	$(BIN)/hodo validate

serve: dist/hodo.nq
	$(BIN)/hodo serve --host $(HOST) --port $(PORT)

lint: $(BIN)/hodo
	$(BIN)/ruff check src tests server.py

test: lint
	$(BIN)/pytest

clean:
	rm -rf dist .pytest_cache .ruff_cache
