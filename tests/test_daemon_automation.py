"""The automation sensor under a real `dagster-daemon`: the zone lookup loads itself on a fresh
deployment, and a loaded month's mart month follows without anyone asking."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dagster_stack import DagsterStack, materialized, running_stack, wait_until
from tests.support.postgres import count_rows

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
AUTOMATION_SECONDS = 240  # the sensor ticks every 30 s; runs queue one at a time


@pytest.fixture
def stack(cli_env: dict[str, str], tmp_path: Path) -> Iterator[DagsterStack]:
    with running_stack(cli_env, tmp_path) as running:
        yield running


def test_zones_load_themselves_and_the_mart_follows_a_loaded_month(
    stack: DagsterStack, pg_schema: str
) -> None:
    wait_until(lambda: materialized(stack, "taxi_zones"), AUTOMATION_SECONDS, stack)
    assert count_rows(pg_schema, "taxi_zones") == 265
    backfill_id = stack.api.launch_backfill(["2021-01"], title="one month")
    assert stack.wait_for_backfill(backfill_id) == "COMPLETED_SUCCESS", stack.log_tail()
    wait_until(
        lambda: materialized(stack, "daily_borough_trips", "2021-01"), AUTOMATION_SECONDS, stack
    )
    assert count_rows(pg_schema, "daily_borough_trips") > 0
