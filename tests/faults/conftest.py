"""Fault-test fixtures: a month already loaded to compare against, crafted files, fresh lakes.

Every fault run uses a lake of its own, so it downloads (the loaded month's verified file
would otherwise be reused) while writing to the same warehouse schema as the loaded month.
The month's names and the run helper live in tests/support/fault_month.py.
"""

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from taxi_assets.resources import DataLake, TaxiSource
from tests.faults.processes import kill_group, start_job
from tests.support.fault_month import CHILD, MONTH, MONTH_FILE, materialize
from tests.support.postgres import table_fingerprint


@pytest.fixture
def good_bytes(mirror_dir: Path) -> bytes:
    """The mirror's real (generated) file for MONTH."""
    return (mirror_dir / MONTH_FILE).read_bytes()


@pytest.fixture
def loaded(resources: dict, pg_schema: str) -> tuple:
    """MONTH loaded from the good mirror; its fingerprint, to prove it stays intact."""
    assert materialize(resources).success
    return table_fingerprint(pg_schema, CHILD)


@pytest.fixture
def crafted(tmp_path: Path) -> Callable[[bytes], Path]:
    """Write `content` as MONTH's file under a fresh mirror root; return the root."""

    def write(content: bytes, month: str = MONTH) -> Path:
        root = tmp_path / "crafted"
        target = root / "yellow" / f"yellow_tripdata_{month}.csv.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return root

    return write


@pytest.fixture
def fault_lake(tmp_path: Path) -> Path:
    return tmp_path / "fault_lake"


@pytest.fixture
def against(resources: dict, fault_lake: Path) -> Callable[..., dict]:
    """The test's resources pointed at another mirror URL and a fresh lake, fast retries."""

    def point(url: str, **source: float) -> dict:
        options = {"first_backoff_seconds": 0.01, "max_backoff_seconds": 0.05, "max_attempts": 3}
        return {
            **resources,
            "source": TaxiSource(base_url=url, **{**options, **source}),
            "lake": DataLake(root=str(fault_lake)),
        }

    return point


@pytest.fixture
def start() -> Iterator[Callable[..., subprocess.Popen]]:
    """`start_job`, with every run's process group killed at the end if a test left it."""
    started: list[subprocess.Popen] = []

    def start_and_track(*args, **kwargs) -> subprocess.Popen:
        started.append(start_job(*args, **kwargs))
        return started[-1]

    yield start_and_track
    for run in started:
        kill_group(run)
