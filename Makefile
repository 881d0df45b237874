# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint venv dev migrate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed
dev: $(VENV)/.installed-dev

migrate: venv
	$(BIN)/backoffice migrate

run: venv
	$(BIN)/backoffice migrate
	$(BIN)/backoffice demo
	$(BIN)/backoffice serve

lint: dev
	$(BIN)/ruff check .

test: dev
	$(BIN)/ruff check .
	tests/run_all.sh
