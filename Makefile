# One command each: `make main` (install the runtime, load 2021-01..2021-03, print the tables),
# `make course` (the course's yellow, green and FHV months, docs/datasets.md),
# `make test` (add the dev tools, run every test). Also: `make mirror` (offline months),
# `make dev` (the UI), `make psql`, `make warehouse`, `make lint`, `make bench`, `make worker`,
# `make dbt ARGS="build --vars '{month: 2021-03}'"` (dbt's own CLI on the warehouse, docs/dbt.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install main course test dev lint bench home worker lock mirror psql warehouse dbt

# Two installs into one venv, each remembered by its own stamp: `make main`, `make dev` and
# `make mirror` need the runtime only; `make test`, `make lint` and `make install` (CI,
# developers) add the dev extra (test tools, the Celery/S3 `scale` extra, Playwright).
$(VENV)/.runtime-installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e . -c constraints.txt
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster-dbt project prepare-and-package \
		--file taxi_assets/analytics/project.py  # the dbt manifest (docs/dbt.md)
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed
	$(BIN)/pip install --quiet -e '.[dev]' -c constraints.txt
	touch $@

install: $(VENV)/.dev-installed

home:
	@mkdir -p $(DAGSTER_HOME)
	@ln -sf $(CURDIR)/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

# The run's detail stays in its event log (`make dev` shows it); the terminal gets the run's
# INFO lines (progress, row counts) and the tables. Python warnings (the CLI's own notices, the
# embedded server's runtime folder; the beta/preview notices about APIs this code chose are
# silenced in taxi_assets/warning_filters.py) speak to developers, not to the user of this
# command: `make dev` and `make test` show them, and VERBOSE=1 shows them here with every DEBUG
# event.
MONTHS_RANGE ?= 2021-01...2021-03
MAIN_LOG_LEVEL := $(if $(VERBOSE),DEBUG,INFO)
QUIET_WARNINGS := $(if $(VERBOSE),default,ignore)
main course mirror psql warehouse: export PYTHONWARNINGS := $(QUIET_WARNINGS)
main: $(VENV)/.runtime-installed home
	$(BIN)/dagster asset materialize -m taxi_assets \
		--select raw_csv,yellow_taxi --partition-range $(MONTHS_RANGE) \
		--config-json '{"loggers": {"console": {"config": {"log_level": "$(MAIN_LOG_LEVEL)"}}}}'
	@$(BIN)/python -m taxi_assets.report

# What the course's analytics module needs (yellow and green 2019-2020, FHV 2019): checks the
# disk first, skips months already loaded and verified, compares the totals with the course's.
course: $(VENV)/.runtime-installed home
	$(BIN)/python -m taxi_assets.course

# Offline: the months generated like the mirror's files into ./mirror (git-ignored), then
# `TAXI_SOURCE_URL=file://$PWD/mirror make main`. MONTHS="2021-04" for others.
# TLC_MONTHS="2024-01 2024-02" (TLC_DATASET=yellow, green, fhv or fhvhv) adds the TLC's
# Parquet files, each era's columns and types, under mirror/trip-data: then
# TAXI_TLC_URL=file://$PWD/mirror/trip-data (docs/datasets.md).
MONTHS ?= 2021-01 2021-02 2021-03
TLC_MONTHS ?=
TLC_DATASET ?= yellow
mirror: $(VENV)/.runtime-installed
	$(BIN)/python -m taxi_testkit.generate $(MONTHS) --out mirror
	$(if $(TLC_MONTHS),$(BIN)/python -m taxi_testkit.tlc $(TLC_MONTHS) --dataset $(TLC_DATASET) --out mirror)

# psql on the warehouse `make main` filled (starts the embedded server if needed); `make
# warehouse` keeps it up for other clients (pgAdmin, notebooks) and prints how to connect.
psql: $(VENV)/.runtime-installed
	@$(BIN)/python -m taxi_assets.psql

warehouse: $(VENV)/.runtime-installed
	@$(BIN)/python -m taxi_assets.psql --serve

# Independent tests run side by side (pytest-xdist); tests sharing one expensive deployment carry
# the same xdist_group and run on one worker. TEST_WORKERS=1 runs them one after another.
TEST_WORKERS ?= 4
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# dagster dev's notice that it is superseded by `dg dev` (a CLI this project does not install)
# is silenced by its exact message; its dagster.yaml notice cannot be (docs/ui.md).
dev: $(VENV)/.runtime-installed home
	@echo "make dev: dagster dev will warn that ./dagster.yaml is not used; it is, through" \
		"$(DAGSTER_HOME)/dagster.yaml, a link to it (docs/ui.md)."
	@$(BIN)/python -m taxi_assets.shared.pools  # before the daemon's first pass (the module says why)
	PATH="$(CURDIR)/$(BIN):$$PATH" PYTHONWARNINGS='ignore:Function `dev_command` is superseded' \
		$(BIN)/dagster dev -w workspace.yaml

# The benchmark (docs/performance.md): about 30 minutes at full size; BENCH_ARGS="--rows 200000
# --lesson-reps 1" for a quick look.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# The install also parses the dbt project (taxi_dbt/target/manifest.json) for the definitions.
dbt: $(VENV)/.runtime-installed
	$(BIN)/python -m taxi_assets.dbt_cli $(or $(ARGS),build)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy taxi_assets taxi_testkit

# A Celery worker for TAXI_EXECUTOR=celery (docs/scale-out.md): `make worker NAME=w2`.
# DAGSTER_HOME must name the instance the runs use (Postgres storage); the broker defaults to
# the local RabbitMQ, as for the runs.
worker: export TAXI_CELERY_BROKER ?= pyamqp://guest@127.0.0.1:5672//
worker: install
	PATH="$(CURDIR)/$(BIN):$$PATH" dagster-celery worker start -n $(or $(NAME),w1) \
		-y celery.yaml -A dagster_celery.app

lock: install
	{ sed -n '1,4p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^taxi'; } \
		> constraints.new && mv constraints.new constraints.txt
