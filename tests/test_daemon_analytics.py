"""The course's models on a fresh deployment under the real `dagster-daemon`: a user loads one
month of each dataset and everything down to `fct_monthly_zone_revenue` builds itself, with no
failed run on the way; and an analytics run never holds a load back."""

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.storage.asset_check_execution_record import (
    COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
    AssetCheckExecutionRecordStatus,
)

from taxi_assets.datasets import FHV, GREEN, YELLOW
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.zones import write_zones
from tests.support.dagster_stack import DagsterStack, materialized, running_stack, wait_until
from tests.support.postgres import TEST_PG_URL, count_rows

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
MONTH = "2021-02"
FIRST_DAY = "2021-02-01"
MODELS = (
    "stg_yellow_tripdata",
    "stg_green_tripdata",
    "stg_fhv_tripdata",
    "int_trips_unioned",
    "int_trips",
    "fct_trips",
    "fct_monthly_zone_revenue",
)
CHROMIUM = Path("/usr/bin/chromium")
SETTLE_SECONDS = 300  # the sensors tick every 3 s here; each run starts a process


@pytest.fixture
def stack(cli_env: dict[str, str], tmp_path: Path) -> Iterator[DagsterStack]:
    """An empty instance, webserver and daemon over workspace.yaml, a mirror with one month
    of each dataset and the zones, and automation sensors ticking every 3 seconds."""
    root = tmp_path / "mirror"
    for spec, rows in ((YELLOW, 800), (GREEN, 300), (FHV, 300)):
        write_month(MONTH, rows, root, spec=spec)
    write_zones(root)
    with serve_mirror(root) as url:
        env = {**cli_env, "TAXI_SOURCE_URL": url, "TAXI_AUTOMATION_INTERVAL_SECONDS": "3"}
        with running_stack(env, tmp_path) as running:
            yield running


def runs(stack: DagsterStack, *statuses: dg.DagsterRunStatus) -> list[dg.DagsterRun]:
    with stack.instance() as instance:
        return list(instance.get_runs(dg.RunsFilter(statuses=list(statuses))))


def failures(stack: DagsterStack) -> str:
    failed = runs(stack, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    return ", ".join(f"{run.job_name} {run.run_id[:8]} {run.tags}" for run in failed)


def load(stack: DagsterStack, spec) -> str:
    """A month of one dataset through the daemon, as the UI's backfill launches it."""
    return stack.api.launch_backfill([MONTH], title=f"{spec.name} {MONTH}", spec=spec)


@contextlib.contextmanager
def holding_model(schema: str, model: str) -> Iterator[None]:
    """Hold the advisory lock a model's build takes first (taxi_dbt/dbt_project.yml's pre-hook),
    so an analytics run building it waits, holding its pool slot, until released."""
    with psycopg.connect(TEST_PG_URL) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"taxi_dbt.{schema}.{model}"])
        yield
        conn.rollback()


# A deadline against hanging, not a speed check: alone it takes about 4 minutes, but side by
# side with the rest of the suite in CI (two cores) it ran past pytest's 10-minute default
# timeout.
@pytest.mark.timeout(1200)
def test_a_fresh_deployment_builds_every_model_of_a_loaded_month(
    stack: DagsterStack, pg_schema: str, tmp_path: Path
) -> None:
    for spec in (YELLOW, GREEN, FHV):
        assert stack.wait_for_backfill(load(stack, spec)) == "COMPLETED_SUCCESS", stack.log_tail()
    wait_until(
        lambda: materialized(stack, "fct_monthly_zone_revenue", MONTH) or bool(failures(stack)),
        SETTLE_SECONDS,
        stack,
    )
    wait_until(
        lambda: not analytics_in_progress(stack) and not queued(stack), SETTLE_SECONDS, stack
    )
    assert failures(stack) == ""
    for model in ("dim_zones", "payment_type_lookup"):
        assert materialized(stack, model), model
    for model in MODELS:
        assert materialized(stack, model, MONTH), model
    with stack.instance() as instance:
        check = dg.AssetCheckKey(dg.AssetKey("fct_trips"), "unique_fct_trips_trip_id")
        history = instance.event_log_storage.get_asset_check_execution_history(
            check, limit=1, status=COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES
        )
    assert history[0].partition == MONTH
    assert history[0].status == AssetCheckExecutionRecordStatus.SUCCEEDED
    shows_check_month_and_description(stack, tmp_path)
    trips = count_rows(pg_schema, "fct_trips")
    assert trips > 0
    with psycopg.connect(TEST_PG_URL) as conn:
        mart = conn.execute(
            f'select sum(total_monthly_trips) from "{pg_schema}".fct_monthly_zone_revenue '
            "where file_month = %s",
            [FIRST_DAY],
        ).fetchone()
    assert mart is not None and mart[0] == trips

    # An analytics run in progress (held on fct_trips' lock) and more analytics queued behind
    # it: a load launched now still starts and finishes.
    with holding_model(pg_schema, "fct_trips"):
        assert stack.wait_for_backfill(load(stack, YELLOW)) == "COMPLETED_SUCCESS"
        wait_until(lambda: bool(analytics_in_progress(stack)), SETTLE_SECONDS, stack)
        started = time.monotonic()
        assert stack.wait_for_backfill(load(stack, GREEN)) == "COMPLETED_SUCCESS"
        assert analytics_in_progress(stack), "the analytics run finished before the load"
        assert time.monotonic() - started < 120
    wait_until(
        lambda: not analytics_in_progress(stack) and not queued(stack), SETTLE_SECONDS, stack
    )
    assert failures(stack) == ""


def shows_check_month_and_description(stack: DagsterStack, out: Path) -> None:
    """The UI's page of one dbt test: what it asserts, and the month its latest result read."""
    from playwright.sync_api import sync_playwright

    web = stack.api.url.removesuffix("/graphql")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{web}/assets/fct_trips?view=checks&checkDetail=unique_fct_trips_trip_id")
        page.get_by_text("No two of the month's rows share a trip_id.").first.wait_for()
        page.get_by_text(f"{MONTH}: passed").first.wait_for()
        page.screenshot(path=str(out / "fct-trips-check.png"))
        body = page.inner_text("body")
        browser.close()
    assert re.search(rf"Partition\s+{MONTH}\b", body), body[:2000]


def analytics_in_progress(stack: DagsterStack) -> list[dg.DagsterRun]:
    active = runs(stack, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)
    return [
        run
        for run in active
        if any(key.to_user_string() in MODELS for key in run.asset_selection or ())
    ]


def queued(stack: DagsterStack) -> list[dg.DagsterRun]:
    return runs(stack, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)
