"""The course's dbt models on the real warehouse: a month replaced exactly, loads and dbt
working in either order, tests scoped to the month, clear errors, a full rebuild.

`built` is one warehouse shared by the tests that leave it as they found it (two months loaded
and built, about a minute); tests that change months upstream get a warehouse of their own.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from taxi_assets.mechanics.errors import TransientError
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from tests.support.dbt_warehouse import (
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
from tests.support.postgres import TEST_PG_URL, throwaway_schema
from tests.support.runs import failure_message

pytestmark = pytest.mark.slow
MONTHS = ("2021-02", "2021-03")


def load_months(resources: dict, schema: str) -> dict:
    """Yellow, green and FHV for February and March, the zones, dim_zones and the seed built."""
    resources = with_dbt(resources)
    load_zones(resources)
    for month in MONTHS:
        load_yellow(resources, month)
        load_green_and_fhv(schema, month)
    build_dimensions(resources)
    return resources


@pytest.fixture(scope="module")
def built(mirror_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A shared warehouse with both months built; "march" holds March's build result."""
    with throwaway_schema() as schema:
        postgres = WarehouseResource(url=TEST_PG_URL, schema_name=schema)
        resources = {
            "source": TaxiSource(base_url=mirror_url),
            "lake": DataLake(root=str(tmp_path_factory.mktemp("lake"))),
            "warehouse": postgres,
        }
        resources = load_months(resources, schema)
        build_month(resources, "2021-02")
        march = build_month(resources, "2021-03")
        yield {"resources": resources, "schema": schema, "march": march}


@pytest.fixture
def warehouse(resources: dict, pg_schema: str) -> dict:
    """A warehouse of this test's own with both months loaded (none built)."""
    return load_months(resources, pg_schema)


@pytest.fixture
def cli_env(built: dict) -> dict[str, str]:
    return {"TAXI_PG_URL": TEST_PG_URL, "TAXI_PG_SCHEMA": built["schema"]}


def test_a_month_keeps_what_staging_kept_and_the_mart_adds_up(built: dict):
    schema, checks = built["schema"], built["march"].get_asset_check_evaluations()
    rows, trip_ids, revenue = month_figures(schema, "fct_trips", "2021-03")
    mart_trips, _, mart_revenue = month_figures(schema, "fct_monthly_zone_revenue", "2021-03")
    assert rows == trip_ids == kept_by_staging(schema, "2021-03") == mart_trips
    assert mart_revenue == revenue
    assert len(checks) >= 20 and all(check.passed for check in checks)


def test_a_month_missing_from_the_warehouse_is_named(built: dict):
    result = build_month(built["resources"], "2021-01", raise_on_error=False)
    error = failure_message(result)
    assert "the warehouse has no yellow_taxi rows for 2021-01" in error
    assert "materialize yellow_taxi for 2021-01 first" in error


def test_a_swap_does_not_wait_for_dbt_reading_another_month(
    built: dict, cli_env: dict, tmp_path: Path
):
    schema, resources = built["schema"], built["resources"]
    impatient = WarehouseResource(
        url=resources["warehouse"].url,
        schema_name=resources["warehouse"].schema_name,
        lock_timeout_seconds=1,
        load_attempts=1,
    )
    march_staging = compiled_sql("stg_yellow_tripdata", "2021-03", cli_env, tmp_path)
    with holding_read(schema, march_staging):
        load_yellow({**resources, "warehouse": impatient}, "2021-02")  # swapped within 1 s
    parent = "SELECT count(*) FROM yellow_taxi WHERE file_month = '2021-03-01'"
    with holding_read(schema, parent), pytest.raises(TransientError, match="swap gave up"):
        load_yellow({**resources, "warehouse": impatient}, "2021-02")  # reading the parent


def test_tests_look_at_the_month_being_built(built: dict, cli_env: dict, tmp_path: Path):
    schema, february = built["schema"], "file_month = '2021-02-01'"
    query(f"INSERT INTO fct_trips SELECT * FROM fct_trips WHERE {february} LIMIT 1", schema)
    march = build_month(built["resources"], "2021-03")
    failing = run_dbt_cli(
        ["test", "-s", "fct_trips", "--vars", "{month: 2021-02}"], cli_env, tmp_path
    )
    query(
        f"DELETE FROM fct_trips WHERE ctid IN (SELECT max(ctid) FROM fct_trips WHERE {february}"
        " GROUP BY trip_id HAVING count(*) > 1)",
        schema,
    )  # the shared warehouse as it was
    assert all(check.passed for check in march.get_asset_check_evaluations())
    assert failing.returncode != 0 and "FAIL 1 unique_fct_trips_trip_id" in failing.stdout


def test_rebuilding_a_view_keeps_the_views_built_on_it(built: dict, cli_env: dict, tmp_path: Path):
    union_only = ["run", "-s", "int_trips_unioned", "--vars", "{month: 2021-03}"]
    assert run_dbt_cli(union_only, cli_env, tmp_path).returncode == 0
    assert {"int_trips_unioned", "int_trips"} <= existing_relations(built["schema"])


def test_a_full_rebuild_reads_every_month(built: dict, cli_env: dict, tmp_path: Path):
    per_month = [month_figures(built["schema"], "fct_trips", m) for m in MONTHS]
    done = run_dbt_cli(["build", "--full-refresh"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert [month_figures(built["schema"], "fct_trips", m) for m in MONTHS] == per_month


def test_rebuilding_a_reloaded_month_replaces_exactly_its_rows(warehouse: dict, pg_schema: str):
    for month in MONTHS:
        build_month(warehouse, month)
    february = month_figures(pg_schema, "fct_trips", "2021-02")
    load_green_and_fhv(pg_schema, "2021-03", green_rows=150, seed=3)  # different rows
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
