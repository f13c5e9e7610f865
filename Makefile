# Verity: two commands on a fresh machine, `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
SIM_PORT ?= 8765
# `make run VERBOSE=1`: the stack logs at INFO (request lines, Celery tasks,
# the simulator's access log); by default only warnings and errors.
VERBOSE ?=
PYTEST_ARGS ?=
# The PostgreSQL-only tests (marker `postgres`): `make test` runs them in a
# second pass when a PostgreSQL answers. PG_TESTS=auto runs them if it can and
# says loudly when it cannot; on: fail without one; off: leave them to the
# caller (.ci/run, whose PostgreSQL stage runs the whole suite there).
PG_TESTS ?= auto
# The database of that pass: VERITY_TEST_DATABASE_URL, else the role and
# database .ci/run creates (pytest-django makes its own test_verity from it).
VERITY_TEST_DATABASE_URL ?= postgres://verity:verity@127.0.0.1:5432/verity
PG_PYTEST_ARGS ?=
# `make mutate MUTATE_ARGS="--limit 20 --module sessions_app/webhooks.py"`; the
# modules and their tests are listed at the top of tests/mutation/run.py.
MUTATE_ARGS ?=

# Django 6 needs Python 3.12+. Try, in order: python3 (a pyenv `.python-version`
# pins 3.12.1 here), python3.13, python3.12, then pyenv's own interpreters.
define FIND_PYTHON
for c in python3 python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3; do \
  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
    echo $$c; exit 0; fi; done; exit 1
endef
BASE_PYTHON = $(shell $(FIND_PYTHON))

# WeasyPrint's system libraries (the evidence-pack PDFs), from Debian 12's
# packages (WeasyPrint's installation docs) and the font the packs name.
WEASYPRINT_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

.PHONY: help run test test-postgres mutate lint check-python system-packages bench clean

help:
	@echo "make run    create .venv, install, migrate, start simulator + worker + server, sync"
	@echo "make test   install, ruff check + format --check, makemigrations --check, the whole pytest suite,"
	@echo "            then the PostgreSQL-only tests when a PostgreSQL answers (PG_TESTS=auto|on|off)"
	@echo "make mutate mutation-test the safety-critical modules, print the score (slow; not CI)"
	@echo "make bench  benchmarks (starts PostgreSQL when run as root)"

check-python:
	@if [ -z "$(BASE_PYTHON)" ]; then \
	  echo "ERROR: Verity needs Python 3.12 or newer (Django 6). Install python3.12/3.13," ; \
	  echo "       or with pyenv: 'pyenv install 3.12.1' (the repo's .python-version selects it)."; \
	  exit 1; fi

# Installs WeasyPrint's Debian packages when one is missing (as root, with
# apt-get, the way .ci/run installs Chromium); otherwise says what to install.
system-packages:
	@missing=""; for p in $(WEASYPRINT_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing WeasyPrint's system packages:$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "WARNING: evidence packs (PDF) need:$$missing (sudo apt-get install$$missing)"; fi

$(VENV)/.installed-runtime: requirements.txt | check-python system-packages
	@test -x $(PY) || $(BASE_PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed-runtime
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed-runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py devstack --host $(HOST) --port $(PORT) --simulator-port $(SIM_PORT) $(if $(filter-out 0,$(VERBOSE)),--verbose)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-postgres

# The second pass: only the `postgres` tests, on PostgreSQL (docs/testing.md).
test-postgres: $(VENV)/.installed-dev
	@url="$(VERITY_TEST_DATABASE_URL)"; shown="$$(echo "$$url" | sed -E 's#//([^:/@]+):[^@]*@#//\1:***@#')"; \
	case "$${DATABASE_URL:-}" in postgres*) \
	  echo "PostgreSQL-only tests: ran in the main pass (DATABASE_URL is PostgreSQL)."; exit 0;; esac; \
	if [ "$(PG_TESTS)" = off ]; then \
	  echo "PostgreSQL-only tests: not run here (PG_TESTS=off); the caller runs them on PostgreSQL."; exit 0; fi; \
	if $(PY) -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' "$$url" >/dev/null 2>&1; then \
	  echo "=== PostgreSQL-only tests on $$shown ==="; \
	  DATABASE_URL="$$url" $(VENV)/bin/pytest -p no:cacheprovider -m postgres $(PG_PYTEST_ARGS); \
	  rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc; \
	fi; \
	echo ""; \
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	echo "!! PostgreSQL-only tests SKIPPED: no PostgreSQL answers at $$shown"; \
	echo "!! (the COPY export twin and the other tests marked \`postgres\` did NOT run)."; \
	echo "!! Start one as docs/testing.md shows, or set VERITY_TEST_DATABASE_URL."; \
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	if [ "$(PG_TESTS)" = on ]; then exit 1; fi

# 100 deliberate small bugs, one at a time, against each module's tests; about
# 10-15 minutes on two cores (docs/testing.md). Not part of `make test` or CI.
mutate: $(VENV)/.installed-dev
	$(PY) tests/mutation/run.py $(MUTATE_ARGS)

bench: $(VENV)/.installed-dev
	bash bench/run.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
