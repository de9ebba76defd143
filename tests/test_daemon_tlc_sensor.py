"""The TLC sensor under a real `dagster-daemon`, against a loopback TLC that serves ETag and
Last-Modified and answers 403 for a month it has not published: once the TLC publishes a month
and re-publishes another with changed rows, the first is loaded, the second reloaded with its
new rows, and nothing else is touched."""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.datasets import YELLOW
from taxi_assets.trips.publication_sensor import CHANGE_TAG, FOUND_TAG
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.tlc import TLC_FOLDER, write_tlc_month
from tests.support.dagster_stack import DagsterStack, running_stack, wait_until
from tests.support.postgres import count_rows

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
SENSOR = "yellow_taxi_tlc_sensor"
SETTLE_SECONDS = 240  # the sensor ticks every 3 s here; each run starts a process
_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { ticks(limit: 20) { status skipReason runIds } } }
    ... on PythonError { message }
  }
}"""


@pytest.fixture
def stack(cli_env: dict[str, str], tmp_path: Path, published_tlc: Path) -> Iterator[DagsterStack]:
    """The load code location on an empty instance, yellow's partitions 2024-01..2024-04 from
    the loopback TLC, the sensor ticking every 3 s and looking back on every tick."""
    with serve_mirror(published_tlc) as url:
        env = {
            **cli_env,
            "TAXI_TLC_URL": f"{url}/{TLC_FOLDER}",
            "TAXI_FIRST_MONTH": "2024-01",
            "TAXI_LAST_MONTH": "2024-04",
            "TAXI_TLC_SENSOR_INTERVAL_SECONDS": "3",
            "TAXI_REVISION_CHECK_HOURS": "0",
        }
        with running_stack(env, tmp_path, code=["-m", "taxi_assets"]) as running:
            yield running


def ticks(stack: DagsterStack) -> list[dict]:
    selector = {
        "repositoryLocationName": "taxi_assets",
        "repositoryName": "__repository__",
        "sensorName": SENSOR,
    }
    found = stack.api.call(_TICKS, {"selector": selector})["sensorOrError"]
    assert found["__typename"] == "Sensor", found
    return found["sensorState"]["ticks"]


def said(stack: DagsterStack, text: str) -> bool:
    return any(text in (tick["skipReason"] or "") for tick in ticks(stack))


def materializations(stack: DagsterStack, month: str) -> int:
    with stack.instance() as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("yellow_taxi"), asset_partitions=[month]),
            limit=10,
        ).records
    return len(records)


def sensor_runs(stack: DagsterStack) -> list[dg.DagsterRun]:
    with stack.instance() as instance:
        return list(instance.get_runs(dg.RunsFilter(tags={"dagster/sensor_name": SENSOR})))


def test_a_published_month_is_loaded_and_a_republished_one_reloaded_nothing_else(
    stack: DagsterStack, published_tlc: Path, pg_schema: str
) -> None:
    wait_until(lambda: said(stack, "nothing of yellow_taxi is loaded yet"), 120, stack)
    backfill = stack.api.launch_backfill(["2024-01", "2024-02"], title="first", spec=YELLOW)
    assert stack.wait_for_backfill(backfill) == "COMPLETED_SUCCESS", stack.log_tail()
    wait_until(lambda: said(stack, "2 loaded month(s) of the last 12 unchanged"), 120, stack)
    assert said(stack, "yellow_taxi 2024-03: not published yet")
    assert not sensor_runs(stack)

    write_tlc_month("2024-03", 280, published_tlc, YELLOW)  # the TLC publishes March
    revised = write_tlc_month("2024-01", 345, published_tlc, YELLOW, seed=7)  # and rewrites January
    later = time.time() + 5
    os.utime(revised, (later, later))

    def reloaded() -> bool:
        done = [r for r in sensor_runs(stack) if r.status == dg.DagsterRunStatus.SUCCESS]
        return len(done) == 2

    wait_until(reloaded, SETTLE_SECONDS, stack)
    runs = {run.tags["dagster/partition"]: run for run in sensor_runs(stack)}
    assert set(runs) == {"2024-01", "2024-03"}
    assert runs["2024-03"].tags[FOUND_TAG] == "new month"
    assert runs["2024-01"].tags[FOUND_TAG] == "revised file"
    assert "ETag" in runs["2024-01"].tags[CHANGE_TAG]
    assert count_rows(pg_schema, "yellow_taxi_2024_01") == 345
    assert count_rows(pg_schema, "yellow_taxi_2024_03") == 280
    assert count_rows(pg_schema, "yellow_taxi_2024_02") == 300
    assert [materializations(stack, m) for m in ("2024-01", "2024-02", "2024-03")] == [2, 1, 1]

    launched = {run_id for tick in ticks(stack) for run_id in tick["runIds"]}
    assert launched == {run.run_id for run in runs.values()}  # each tick names its runs
    wait_until(lambda: said(stack, "3 loaded month(s) of the last 12 unchanged"), 120, stack)
    assert len(sensor_runs(stack)) == 2  # nothing loaded twice, nothing else touched
