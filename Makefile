# One command each: `make main` (install, load 2021-01..2021-03, print the tables),
# `make test` (install, run every test). Also: `make dev` (the UI), `make lint`, `make bench`,
# `make dbt ARGS="build --vars '{month: 2021-03}'"` (dbt's own CLI on the warehouse, docs/dbt.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install main test dev lint bench home worker lock dbt

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -c constraints.txt
	$(BIN)/python -m taxi_assets.dbt_project
	touch $@

install: $(VENV)/.installed

home:
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $(DAGSTER_HOME)/dagster.yaml

main: install home
	$(BIN)/dagster asset materialize -m taxi_assets --select raw_csv,yellow_taxi \
		--partition-range 2021-01...2021-03
	$(BIN)/python -m taxi_assets.report

test: install
	$(BIN)/python -m pytest

dev: install home
	$(BIN)/dagster dev -w workspace.yaml

# The benchmark (README, Performance): about 30 minutes at full size; BENCH_ARGS="--rows 200000
# --lesson-reps 1" for a quick look.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# `make install` also parses the dbt project (taxi_dbt/target/manifest.json) for the definitions.
dbt: install
	$(BIN)/python -m taxi_assets.dbt_cli $(or $(ARGS),build)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy taxi_assets taxi_testkit

# A Celery worker for TAXI_EXECUTOR=celery (README "Scale out"): `make worker NAME=w2`.
# DAGSTER_HOME must name the instance the runs use (Postgres storage); the broker defaults to
# the local RabbitMQ.
worker: export TAXI_CELERY_BROKER ?= pyamqp://guest@127.0.0.1:5672//
worker: install
	PATH="$(CURDIR)/$(BIN):$$PATH" dagster-celery worker start -n $(or $(NAME),w1) \
		-y celery.yaml -A dagster_celery.app

lock: install
	{ sed -n '1,4p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^taxi'; } \
		> constraints.new && mv constraints.new constraints.txt
