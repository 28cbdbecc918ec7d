# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench loadtest faults backup restore-check lint browser-deps manage clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Set up and run the product with demo data (embedded PostgreSQL and Redis unless URLs are set).
run: $(STAMP)
	$(PY) -m attendance_portal.devstack run

## Run the whole test suite on real PostgreSQL.
test: $(STAMP)
	$(PY) -m attendance_portal.devstack test $(ARGS)

## Print benchmark figures (register save, import rate, statistics engine).
bench: $(STAMP)
	$(PY) -m attendance_portal.devstack bench $(ARGS)

$(VENV)/.loadtest: $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,loadtest]"
	touch $@

## The 08:45 peak on the real stack (gunicorn, worker, beat) with Locust: make loadtest ARGS="--schools 50"
loadtest: $(VENV)/.loadtest
	$(PY) -m attendance_portal.devstack loadtest $(ARGS)

## The five fault scenarios at full size with real processes; non-zero exit when anything is lost or doubled.
faults: $(STAMP)
	$(PY) -m attendance_portal.devstack faults $(ARGS)

## pg_dump of the database (embedded or DATABASE_URL's) to var/backups/, or FILE=path.
backup: $(STAMP)
	$(PY) -m attendance_portal.devstack backup $(FILE)

## Restore FILE into a fresh database and check every school's registers and amendment trail are identical.
restore-check: $(STAMP)
	$(PY) -m attendance_portal.devstack restore-check $(FILE)

## Ruff, then mypy with django-stubs over the application packages (settings need URLs; nothing connects).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	DATABASE_URL=postgres://x@localhost:1/x REDIS_URL=redis://localhost:1/0 $(VENV)/bin/mypy

## Debian's chromium for the browser tests (needs root and apt).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)

## Any manage.py command with the services running: make manage ARGS="shell"
manage: $(STAMP)
	$(PY) -m attendance_portal.devstack exec -- $(PY) manage.py $(ARGS)

clean:
	rm -rf $(VENV) var
