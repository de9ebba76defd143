"""The bench's throwaway parts: a database created and dropped, generated months, a warm lake."""

import argparse
import contextlib
import datetime as dt
import json
import logging
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from taxi_assets.datasets import YELLOW
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.schema import column_definitions
from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.trips.assets import fetch_month
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


def run_in_scratch(run: Callable[[argparse.Namespace], dict], args: argparse.Namespace) -> dict:
    """`run(args)` with `args.workdir` a scratch folder (a temp one, removed after, if unset).

    Stopped by SIGTERM or Ctrl-C (also when started in the background), the bench still drops
    its database and removes its scratch folder on the way out.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    own_workdir = args.workdir is None
    args.workdir = Path(tempfile.mkdtemp(prefix="taxi_bench_")) if own_workdir else args.workdir
    try:
        return run(args)
    finally:
        if own_workdir:
            shutil.rmtree(args.workdir, ignore_errors=True)


def publish(results: dict, text: str, out: Path | None, name: str) -> None:
    """Write the results as JSON (`out`, else bench/results/<name>-<start>.json); print `text`."""
    started = results["started_utc"]
    out = out or Path(__file__).parent / "results" / f"{name}-{started}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(text)  # noqa: T201 - the bench reports to stdout
    print(f"\nJSON: {out}")  # noqa: T201
