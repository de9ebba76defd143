"""Faults of the course command (`python -m taxi_assets.course`): months it cannot load, and
the course process killed while its `dagster` children load (docs/failure-modes.md)."""

import pytest

from tests.test_course import course, runs

pytestmark = pytest.mark.cli


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "load"])
def test_months_before_the_first_partition_are_refused_up_front(
    cli_env: dict, dry_run: bool
) -> None:
    done = course(cli_env, "--part", "green:2018-11..2018-12=100", *(["--dry-run"] * dry_run))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "months to load" not in done.stdout
    assert done.stderr.strip().splitlines() == [
        "refusing to start: green 2018-11..2018-12 lies outside the green partitions "
        "(2019-01..2021-07; TAXI_FIRST_MONTH and TAXI_LAST_MONTH set the bounds); nothing was "
        "loaded"
    ]
    assert runs(cli_env) == 0


def test_the_course_beyond_configured_bounds_is_refused_naming_them(cli_env: dict) -> None:
    done = course({**cli_env, "TAXI_LAST_MONTH": "2020-06"}, "--dry-run")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "yellow 2019-01..2020-12 lies outside the yellow partitions (2019-01..2020-06" in (
        done.stderr
    )
