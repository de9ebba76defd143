"""`python -m taxi_assets.catchup`: what `catchup=True` did, listed first, launched on request."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.cli.catchup import months_to_catch_up
from taxi_assets.datasets import DATASETS
from taxi_assets.resources import DataLake, TaxiSource
from tests.support.dagster_stack import DagsterStack, running_stack
from tests.support.trips import raw_csv, yellow_taxi

KEYS = ["2020-12", "2021-01", "2021-02", "2021-03", "2021-04"]


def test_only_missing_or_failed_months_within_the_bounds_are_caught_up() -> None:
    statuses = {"2021-01": "MATERIALIZED", "2021-02": "FAILED", "2021-04": "MATERIALIZING"}
    assert months_to_catch_up(KEYS, statuses, "2021-01", "2021-04") == ["2021-02", "2021-03"]
    assert months_to_catch_up(KEYS, statuses, None, None) == ["2020-12", "2021-02", "2021-03"]
    assert months_to_catch_up(KEYS, statuses, None, None, in_progress={"2020-12"}) == KEYS[2:4]


@pytest.fixture
def stack(cli_env: dict[str, str], tmp_path: Path) -> Iterator[DagsterStack]:
    with running_stack(cli_env, tmp_path) as running:
        yield running


def materialize(stack: DagsterStack, resources: dict, month: str) -> bool:
    """A load of `month` recorded in the stack's instance (in this process: the CLI path is
    tested in test_cli.py), whether it succeeded."""
    with stack.instance() as instance:
        return dg.materialize(
            [raw_csv, yellow_taxi],
            partition_key=month,
            resources=resources,
            instance=instance,
            raise_on_error=False,
        ).success


def catchup(stack: DagsterStack, env: dict[str, str], *flags: str) -> str:
    args = ["-m", "taxi_assets.catchup", "--url", stack.api.url, "--first", "2021-01"]
    done = subprocess.run(
        [sys.executable, *args, "--last", "2021-03", *flags],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.mark.daemon
@pytest.mark.slow
def test_catchup_lists_then_launches_one_backfill_for_missing_and_failed_months(
    stack: DagsterStack, cli_env: dict[str, str], resources: dict, tmp_path: Path
) -> None:
    assert materialize(stack, resources, "2021-01") and materialize(stack, resources, "2021-02")
    broken = {
        **resources,
        "source": TaxiSource(base_url=(tmp_path / "empty").as_uri()),
        "lake": DataLake(root=str(tmp_path / "lake2")),
    }
    assert not materialize(stack, broken, "2021-02")  # February's latest attempt fails
    every_dataset = catchup(stack, cli_env, "--dry-run").splitlines()
    assert [f"{spec.table} 2021-03  missing" for spec in DATASETS] == [
        line for line in every_dataset if "2021-03" in line
    ]
    assert catchup(stack, cli_env, "--dry-run", "--dataset", "yellow").splitlines() == [
        "yellow_taxi 2021-02  failed",
        "yellow_taxi 2021-03  missing",
    ]
    launched = catchup(stack, cli_env, "--dataset", "yellow").splitlines()[-1]
    backfill_id = launched.split()[2]  # "launched backfill <id> …"
    # the first one is still running
    assert catchup(stack, cli_env, "--dataset", "yellow") == "yellow_taxi: nothing to catch up\n"
    assert stack.api.backfill_targets(backfill_id) == (
        ["2021-02", "2021-03"],
        ["raw_csv", "yellow_taxi"],
    )
