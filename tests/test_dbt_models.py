"""The course's dbt models on the real warehouse: a month replaced exactly, loads and dbt
working in either order, tests scoped to the month, clear errors, a full rebuild."""

from pathlib import Path

import pytest

from taxi_assets.io_manager import PostgresIOManager
from tests.conftest import TEST_PG_URL
from tests.dbt_warehouse import (
    DBT_MODELS,
    build_dimensions,
    build_month,
    compiled_sql,
    existing_relations,
    holding_read,
    kept_by_staging,
    load_green_and_fhv,
    load_yellow,
    load_zones,
    month_figures,
    query,
    run_dbt_cli,
    with_dbt,
)

pytestmark = pytest.mark.slow
MONTHS = ("2021-02", "2021-03")


@pytest.fixture
def warehouse(resources: dict, pg_schema: str) -> dict:
    """Yellow, green and FHV for February and March, the zones, dim_zones and the seed built."""
    resources = with_dbt(resources)
    load_zones(resources)
    for month in MONTHS:
        load_yellow(resources, month)
        load_green_and_fhv(pg_schema, month)
    build_dimensions(resources)
    return resources


@pytest.fixture
def cli_env(pg_schema: str) -> dict[str, str]:
    return {"TAXI_PG_URL": TEST_PG_URL, "TAXI_PG_SCHEMA": pg_schema}


def test_a_month_keeps_what_staging_kept_and_the_mart_adds_up(warehouse: dict, pg_schema: str):
    result = build_month(warehouse, "2021-03")
    rows, trip_ids, revenue = month_figures(pg_schema, "fct_trips", "2021-03")
    mart_trips, _, mart_revenue = month_figures(pg_schema, "fct_monthly_zone_revenue", "2021-03")
    assert rows == trip_ids == kept_by_staging(pg_schema, "2021-03") == mart_trips
    assert mart_revenue == revenue
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert len(result.get_asset_check_evaluations()) >= 25


def test_rebuilding_a_reloaded_month_replaces_exactly_its_rows(warehouse: dict, pg_schema: str):
    for month in MONTHS:
        build_month(warehouse, month)
    february = month_figures(pg_schema, "fct_trips", "2021-02")
    load_green_and_fhv(pg_schema, "2021-03", green_rows=150, scale=3)  # different rows
    build_month(warehouse, "2021-03")
    rows, trip_ids, revenue = month_figures(pg_schema, "fct_trips", "2021-03")
    assert rows == trip_ids == kept_by_staging(pg_schema, "2021-03")
    assert month_figures(pg_schema, "fct_monthly_zone_revenue", "2021-03")[::2] == (rows, revenue)
    assert month_figures(pg_schema, "fct_trips", "2021-02") == february


def test_loads_replace_zones_and_months_under_built_models(warehouse: dict, pg_schema: str):
    build_month(warehouse, "2021-03")  # dbt after the loads ...
    before = month_figures(pg_schema, "fct_trips", "2021-03")
    load_zones(warehouse)  # ... then the loads again, over dbt's tables and views
    load_yellow(warehouse, "2021-03")
    load_green_and_fhv(pg_schema, "2021-03")
    assert set(DBT_MODELS) <= existing_relations(pg_schema)
    build_dimensions(warehouse)
    build_month(warehouse, "2021-03")
    assert month_figures(pg_schema, "fct_trips", "2021-03") == before


def test_a_swap_does_not_wait_for_dbt_reading_another_month(
    warehouse: dict, pg_schema: str, cli_env: dict, tmp_path: Path
):
    lock_timeout = PostgresIOManager(postgres=warehouse["postgres"], lock_timeout_seconds=1)
    impatient = {**warehouse, "warehouse": lock_timeout.model_copy(update={"load_attempts": 1})}
    march_staging = compiled_sql("stg_yellow_tripdata", "2021-03", cli_env, tmp_path)
    with holding_read(pg_schema, march_staging):
        load_yellow(impatient, "2021-02")  # swaps yellow_taxi_2021_02 within the second
    parent = "SELECT count(*) FROM yellow_taxi WHERE file_month = '2021-03-01'"
    with holding_read(pg_schema, parent), pytest.raises(Exception, match="swap gave up"):
        load_yellow(impatient, "2021-02")  # what reading the parent table would have cost


def test_tests_look_at_the_month_being_built(warehouse: dict, pg_schema: str, cli_env, tmp_path):
    for month in MONTHS:
        build_month(warehouse, month)
    query(
        "INSERT INTO fct_trips SELECT * FROM fct_trips WHERE file_month = '2021-02-01' LIMIT 1",
        pg_schema,
    )  # a duplicate trip in February
    march = build_month(warehouse, "2021-03")
    assert all(e.passed for e in march.get_asset_check_evaluations())
    february = ["test", "--select", "fct_trips", "--vars", "{month: 2021-02}"]
    done = run_dbt_cli(february, cli_env, tmp_path)
    assert done.returncode != 0 and "unique_fct_trips_trip_id" in done.stdout


def test_a_month_missing_from_the_warehouse_is_named(warehouse: dict):
    result = build_month(warehouse, "2021-01", raise_on_error=False)
    assert not result.success
    error = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "the warehouse has no yellow_taxi rows for 2021-01" in error
    assert "materialize yellow_taxi for 2021-01 first" in error


def test_a_full_rebuild_reads_every_month(warehouse: dict, pg_schema: str, cli_env, tmp_path: Path):
    for month in MONTHS:
        build_month(warehouse, month)
    per_month = [month_figures(pg_schema, "fct_trips", m) for m in MONTHS]
    done = run_dbt_cli(["build", "--full-refresh"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert [month_figures(pg_schema, "fct_trips", m) for m in MONTHS] == per_month
