"""A killed load of a FHV month: Postgres rolls back, the month stays, the next run loads it."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.datasets import FHV
from taxi_assets.resources import DataLake, TaxiSource
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror
from tests.faults.processes import copy_progress, kill_group, sessions_of, wait_for
from tests.support.mirror_months import DATASET_ROWS
from tests.support.postgres import count_rows, table_fingerprint, tables_like
from tests.support.trips import FHV_ASSETS

MONTH, CHILD, BIG_ROWS = "2019-12", "fhv_taxi_2019_12", 400_000
pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def big_fhv_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A mirror whose FHV month is large enough to kill its COPY midway."""
    root = tmp_path_factory.mktemp("big_fhv")
    write_month(MONTH, BIG_ROWS, root, spec=FHV)
    with serve_mirror(root) as url:
        yield url


def load(resources: dict) -> dg.ExecuteInProcessResult:
    assets = [FHV_ASSETS.raw, FHV_ASSETS.warehouse]
    return dg.materialize(assets, partition_key=MONTH, resources=resources)


def test_a_killed_fhv_load_rolls_back_and_the_next_run_loads_the_month(
    start, cli_env: dict, big_fhv_mirror: str, resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    load(resources)
    before = table_fingerprint(pg_schema, CHILD)
    env = {**cli_env, "TAXI_SOURCE_URL": big_fhv_mirror, "TAXI_LAKE_DIR": str(tmp_path / "big")}
    run = start(env, MONTH, tmp_path / "run", job="fhv_taxi_job")
    wait_for(lambda: copy_progress(pg_schema) > 0, "COPY to show progress", every=0.005)
    kill_group(run)
    wait_for(lambda: not sessions_of(pg_schema), "the killed run's session to end")
    assert table_fingerprint(pg_schema, CHILD) == before and before[0] == DATASET_ROWS[(FHV, MONTH)]
    # A month COPYed in two streams stages into a committed table: at most that is left,
    # outside the parent, and the month's next load replaces it.
    assert tables_like(pg_schema, "%staging") in ([], [f"{CHILD}_staging"])
    assert count_rows(pg_schema, "fhv_taxi") == before[0]
    big = {**resources, "source": TaxiSource(base_url=big_fhv_mirror)}
    load({**big, "lake": DataLake(root=str(tmp_path / "big"))})
    assert count_rows(pg_schema, CHILD) == BIG_ROWS
    assert tables_like(pg_schema, "%staging") == []
