"""`python -m taxi_assets.catchup`: what `catchup=True` did, listed first, launched on request."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taxi_assets.catchup import months_to_catch_up
from tests.dagster_stack import DagsterStack, running_stack

DAGSTER = str(Path(sys.executable).with_name("dagster"))
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


def materialize(env: dict[str, str], month: str) -> int:
    args = ["asset", "materialize", "-m", "taxi_assets", "--select", "raw_csv,yellow_taxi"]
    return subprocess.run([DAGSTER, *args, "--partition", month], env=env, check=False).returncode


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
    stack: DagsterStack, cli_env: dict[str, str], tmp_path: Path
) -> None:
    assert materialize(cli_env, "2021-01") == 0 and materialize(cli_env, "2021-02") == 0
    broken = {
        **cli_env,
        "TAXI_SOURCE_URL": (tmp_path / "empty").as_uri(),
        "TAXI_LAKE_DIR": str(tmp_path / "lake2"),
    }
    assert materialize(broken, "2021-02") != 0  # February's latest attempt fails
    assert catchup(stack, cli_env, "--dry-run").splitlines() == [
        "2021-02  failed",
        "2021-03  missing",
    ]
    backfill_id = catchup(stack, cli_env).splitlines()[-1].split()[2]  # "launched backfill <id> …"
    assert catchup(stack, cli_env) == "nothing to catch up\n"  # the first one is still running
    assert stack.api.backfill_targets(backfill_id) == (
        ["2021-02", "2021-03"],
        ["raw_csv", "yellow_taxi"],
    )
