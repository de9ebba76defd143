"""The bench's throwaway parts: a database created and dropped, generated months, a warm lake."""

import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from taxi_assets.asset_factory import fetch_month
from taxi_assets.dataset_spec import DatasetSpec
from taxi_assets.datasets import YELLOW
from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.schema import column_definitions
from taxi_testkit.generate import write_month

_log = logging.getLogger("bench")


def database_url(server_url: str, database: str) -> str:
    """`server_url` with its database replaced."""
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


@contextlib.contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """Create a database of its own on the server; yield its URL; drop it afterwards."""
    name = f"taxi_bench_{uuid.uuid4().hex[:10]}"
    admin = database_url(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def fresh_schema(db_url: str, schema: str) -> None:
    """Drop `schema` with everything in it and create it empty."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def fresh_copy_table(db_url: str, table: str, month: str, spec: DatasetSpec = YELLOW) -> None:
    """An empty table of our schema for `psql \\copy` (the month column defaults to `month`)."""
    first_day = dt.datetime.strptime(month, "%Y-%m").date()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({})").format(
                sql.Identifier(table), column_definitions(spec.warehouse_columns)
            )
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN file_month SET DEFAULT {}").format(
                sql.Identifier(table), sql.Literal(first_day)
            )
        )


def generate(months: dict[str, int], mirror: Path) -> None:
    """Write each month with its row count into the mirror's release tree."""
    for month, rows in months.items():
        _log.info(f"generating {month}: {rows:,} rows")
        write_month(month, rows, mirror)


def warm_lake(mirror_url: str, lake_dir: Path, month: str, spec: DatasetSpec = YELLOW) -> Path:
    """Fetch a month into a lake through the raw asset's own code (download, verify, manifest)."""
    lake = DataLake(root=str(lake_dir)).lake()
    fetch_month(spec, month, TaxiSource(base_url=mirror_url), lake, _log)
    return Path(lake.path_for(spec, dt.datetime.strptime(month, "%Y-%m").date()))
