"""Every warehouse schema name from configuration: the loads and dbt accept the same names
(upper case included) and refuse the same ones up front, with one clear message, before any SQL
runs; no name reaches SQL unquoted (dbt-postgres pastes it into string literals)."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.resources import WarehouseResource
from tests.support.dbt_warehouse import (
    build_dimensions,
    build_month,
    load_green_and_fhv,
    load_yellow,
    month_figures,
    run_dbt_cli,
    with_dbt,
)
from tests.support.postgres import TEST_PG_URL
from tests.support.runs import failure_message
from tests.support.trips import raw_csv, yellow_taxi

REFUSED = ["it's", "taxi data", "x'||(select count(*) from canary)||'", "1st", "a" * 64]


def schema_exists(name: str) -> bool:
    with psycopg.connect(TEST_PG_URL) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name]).fetchone()
    return found is not None


@pytest.mark.parametrize("name", REFUSED)
def test_the_loads_and_dbt_refuse_the_same_names_up_front(
    name: str, resources: dict, cli_env: dict, tmp_path: Path
) -> None:
    with pytest.raises(TaxiError, match="not a usable warehouse schema name") as refused:
        WarehouseResource(url=TEST_PG_URL, schema_name=name).warehouse_schema  # noqa: B018
    loads = {**resources, "warehouse": WarehouseResource(url=TEST_PG_URL, schema_name=name)}
    result = dg.materialize(
        [raw_csv, yellow_taxi], partition_key="2021-01", resources=loads, raise_on_error=False
    )
    dbt = run_dbt_cli(["build"], {**cli_env, "TAXI_PG_SCHEMA": name}, tmp_path)
    assert not result.success and "not a usable warehouse schema name" in failure_message(result)
    assert dbt.returncode == 2 and "Running with dbt" not in dbt.stdout
    assert f"TAXI_PG_SCHEMA={name!r} is not a usable warehouse schema name" in dbt.stderr
    assert str(refused.value).split("=", 1)[1] in dbt.stderr  # the same message
    assert not schema_exists(name)


@pytest.fixture
def upper_case_schema() -> Iterator[str]:
    name = f"Taxi_Upper_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def test_an_upper_case_schema_works_for_the_loads_and_dbt(
    resources: dict, upper_case_schema: str
) -> None:
    warehouse = WarehouseResource(url=TEST_PG_URL, schema_name=upper_case_schema)
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(upper_case_schema)))
    mixed = with_dbt({**resources, "warehouse": warehouse})
    load_yellow(mixed, "2021-02")
    load_green_and_fhv(upper_case_schema, "2021-02")
    assert build_dimensions(mixed, with_zones=True).success
    assert build_month(mixed, "2021-02").success
    rows, trip_ids, _ = month_figures(upper_case_schema, "fct_trips", "2021-02")
    assert rows == trip_ids > 0
    assert not schema_exists(upper_case_schema.lower())
