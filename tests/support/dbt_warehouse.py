"""Helpers for the dbt tests: a warehouse with months loaded, dbt builds, and SQL probes.

Yellow months come through the real assets from the loopback mirror; green and FHV months are
generated and written straight into the warehouse (taxi_testkit.trip_tables).
"""

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
from psycopg import sql

from taxi_assets.analytics.assets import dbt_cli_resource, taxi_dbt_dimensions, taxi_dbt_monthly
from taxi_assets.mechanics.months import parse_month
from taxi_assets.zones.assets import taxi_zones
from taxi_testkit import trip_tables
from tests.support.postgres import TEST_PG_URL
from tests.support.trips import FHV_ASSETS, GREEN_ASSETS, raw_csv, yellow_taxi

DBT_MODELS = (
    "stg_yellow_tripdata",
    "stg_green_tripdata",
    "stg_fhv_tripdata",
    "int_trips_unioned",
    "int_trips",
    "dim_zones",
    "fct_trips",
    "fct_monthly_zone_revenue",
    "payment_type_lookup",
)
GREEN_ROWS = 400


def with_dbt(resources: dict) -> dict:
    return {**resources, "dbt": dbt_cli_resource()}


def load_yellow(resources: dict, month: str) -> None:
    dg.materialize([raw_csv, yellow_taxi], partition_key=month, resources=resources)


def load_green_and_fhv(schema: str, month: str, green_rows: int = GREEN_ROWS, seed: int = 42):
    first = parse_month(month)
    trip_tables.replace_month(TEST_PG_URL, schema, GREEN_ASSETS.spec, first, green_rows, seed)
    trip_tables.replace_month(TEST_PG_URL, schema, FHV_ASSETS.spec, first, 300, seed)


def load_zones(resources: dict) -> None:
    dg.materialize([taxi_zones], resources=resources)


def build_dimensions(
    resources: dict, instance: dg.DagsterInstance | None = None, with_zones: bool = False
) -> dg.ExecuteInProcessResult:
    """dim_zones and the seed (after loading taxi_zones in the same instance if asked)."""
    if with_zones:
        dg.materialize([taxi_zones], resources=resources, instance=instance)
    return dg.materialize([taxi_dbt_dimensions], resources=resources, instance=instance)


def build_month(resources: dict, month: str, raise_on_error: bool = True):
    return dg.materialize(
        [taxi_dbt_monthly], partition_key=month, resources=resources, raise_on_error=raise_on_error
    )


def build_months(resources: dict, first: str, last: str, raise_on_error: bool = True):
    """The month models for first..last in one run, as a ranged backfill runs them."""
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    return dg.materialize(
        [taxi_dbt_monthly], tags=tags, resources=resources, raise_on_error=raise_on_error
    )


def query(statement: str, schema: str, *params: object) -> list[tuple]:
    """Rows of `statement` run with the schema first on the search path."""
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cursor = conn.execute(statement, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def month_figures(schema: str, table: str, month: str) -> tuple:
    """Rows, distinct trip ids and total revenue of one file month of a dbt table."""
    trips = "count(*), count(DISTINCT trip_id), sum(total_amount)"
    revenue = "sum(total_monthly_trips), count(*), sum(revenue_monthly_total_amount)"
    measures = trips if table == "fct_trips" else revenue
    statement = f"SELECT {measures} FROM {table} WHERE file_month = %s"
    return query(statement, schema, parse_month(month))[0]


def kept_by_staging(schema: str, month: str) -> int:
    """Trips of the month the models must keep, counted on the raw tables: rows with a vendor,
    one per vendor, pickup time and pickup zone (and service type)."""
    suffix = f"{parse_month(month):%Y_%m}"
    statement = f"""
        SELECT (SELECT count(*) FROM (SELECT DISTINCT "VendorID", tpep_pickup_datetime,
                    "PULocationID" FROM yellow_taxi_{suffix} WHERE "VendorID" IS NOT NULL) AS y)
             + (SELECT count(*) FROM (SELECT DISTINCT "VendorID", lpep_pickup_datetime,
                    "PULocationID" FROM green_taxi_{suffix} WHERE "VendorID" IS NOT NULL) AS g)"""
    return query(statement, schema)[0][0]


def existing_relations(schema: str) -> set[str]:
    statement = "SELECT relname FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace "
    statement += "WHERE nspname = %s AND relkind IN ('r', 'v', 'p')"
    return {row[0] for row in query(statement, schema, schema)}


def run_dbt_cli(
    arguments: list[str], env: dict[str, str], out: Path
) -> subprocess.CompletedProcess[str]:
    """`python -m taxi_assets.dbt_cli` with its artifacts and logs under `out`."""
    command = [sys.executable, "-m", "taxi_assets.dbt_cli", *arguments]
    command += ["--target-path", str(out / "target"), "--log-path", str(out / "logs")]
    return subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


def compiled_sql(model: str, month: str, env: dict[str, str], out: Path) -> str:
    """The SQL dbt runs for `model` when it builds `month`."""
    done = run_dbt_cli(["compile", "--select", model, "--vars", f"{{month: {month}}}"], env, out)
    assert done.returncode == 0, done.stdout[-3000:]
    return next((out / "target" / "compiled").rglob(f"{model}.sql")).read_text()


@contextlib.contextmanager
def rolled_back(schema: str) -> Iterator[psycopg.Connection]:
    """A connection with `schema` first on the search path, in a transaction rolled back at
    the end: what it changes is seen by its own queries only."""
    with psycopg.connect(TEST_PG_URL) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        yield conn
        conn.rollback()


@contextlib.contextmanager
def holding_read(schema: str, statement: str) -> Iterator[None]:
    """Run `statement` in a transaction left open (its locks held) for the duration."""
    with rolled_back(schema) as conn:
        conn.execute(statement).fetchall()  # type: ignore[arg-type]
        yield
