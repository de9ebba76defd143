"""The hand-typed baseline on the same files: `gunzip -c | psql -c "\\copy ..."`, one file after
another (one stream), and the same files shared by two streams running side by side."""

import concurrent.futures
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from taxi_assets.datasets import DATASETS
from taxi_assets.mechanics.schema import column_definitions


@dataclass(frozen=True)
class CopyFile:
    """One month's file and the plain table a hand-typed loop would append it to."""

    path: Path
    table: str
    columns: tuple[str, ...]


# The one seam for the tables: dataset -> (column DDL, source columns in file order).
def copy_target(dataset: str) -> tuple[sql.Composable, tuple[str, ...]]:
    spec = next(spec for spec in DATASETS if spec.name == dataset)
    return column_definitions(spec.columns), tuple(c.name for c in spec.columns)


def copy_files(files: dict[str, list[Path]], schema: str) -> list[CopyFile]:
    return [
        CopyFile(path, f"{schema}.{name}_copy", copy_target(name)[1])
        for name, paths in files.items()
        for path in paths
    ]


def create_tables(db_url: str, schema: str, datasets: list[str]) -> None:
    """A fresh schema with one plain table per dataset (the warehouse's types, no partitions)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for name in datasets:
            table = sql.Identifier(schema, f"{name}_copy")
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(table, copy_target(name)[0]))


def drop_schema(db_url: str, schema: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def copy_one(db_url: str, file: CopyFile) -> float:
    """`gunzip -c file | psql \\copy table (cols) from stdin (format csv, header true)`: seconds."""
    columns = ", ".join(f'"{c}"' for c in file.columns)
    command = f"\\copy {file.table} ({columns}) from stdin with (format csv, header true)"
    started = time.monotonic()
    gunzip = subprocess.Popen(["gunzip", "-c", str(file.path)], stdout=subprocess.PIPE)
    psql = subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_url, "-c", command],
        stdin=gunzip.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    gunzip.wait()
    if psql.returncode or gunzip.returncode:
        raise RuntimeError(f"psql \\copy of {file.path} failed: {psql.stderr[-2000:]}")
    return time.monotonic() - started


def one_stream(db_url: str, files: list[CopyFile]) -> float:
    """Every file after the other, as a shell loop does: the wall time (the sum of the loads)."""
    started = time.monotonic()
    for file in files:
        copy_one(db_url, file)
    return time.monotonic() - started


def two_streams(db_url: str, files: list[CopyFile]) -> float:
    """The files shared by two streams, largest first to the lighter one: the wall time."""
    lanes: tuple[list[CopyFile], list[CopyFile]] = ([], [])
    weights = [0, 0]
    for file in sorted(files, key=lambda f: f.path.stat().st_size, reverse=True):
        lighter = weights.index(min(weights))
        lanes[lighter].append(file)
        weights[lighter] += file.path.stat().st_size
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda lane: one_stream(db_url, lane), lanes))
    return time.monotonic() - started
