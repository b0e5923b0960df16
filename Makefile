# Samordna: `make run` serves the demo on http://127.0.0.1:5000, `make test` runs every test.
# Both create .venv on first use and reinstall only when pyproject.toml has changed.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-x tests/auth"
PYTEST_ARGS ?=

export FLASK_APP := app:create_app

.PHONY: help install translations db run test

help:
	@echo "make run    install, migrate, load reference and demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test   install and run the whole test suite (TEST_DATABASE_URL selects PostgreSQL)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || {
		found=$$($(PYTHON) -c 'import sys; print("Python " + sys.version.split()[0])' 2>/dev/null || echo "not found")
		echo "Samordna needs Python 3.11 or newer; $(PYTHON): $$found." >&2
		echo "Install a newer Python, or name one: make PYTHON=python3.12 ..." >&2
		exit 1
	}
	$(PYTHON) -m venv $(VENV)

# Editable install with the test tools; redone when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml | $(BIN)/python
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The Swedish catalog is compiled when it exists; without a catalog there is nothing to do.
translations: install
	@if compgen -G 'app/translations/*/LC_MESSAGES/*.po' >/dev/null; then
		$(BIN)/pybabel compile --statistics -d app/translations
	fi

db: translations
	@$(BIN)/flask db upgrade
	$(BIN)/flask organisations load
	$(BIN)/flask catalog load
	$(BIN)/flask demo load

# The scheduler runs as its own process beside gunicorn; whichever stops first, the other is stopped too.
run: db
	@$(BIN)/flask jobs run &
	worker=$$!
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --access-logfile - 'app:create_app()' &
	web=$$!
	trap 'kill $$web $$worker 2>/dev/null || true; wait $$web $$worker 2>/dev/null || true' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	echo "Samordna: http://$(HOST):$(PORT)  (Ctrl-C stops the server and the scheduler)"
	wait -n $$web $$worker

test: translations
	@$(BIN)/python -m pytest $(PYTEST_ARGS)
