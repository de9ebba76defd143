"""The schedule's ticks: Airflow's `0 6 2 * *`, each loading the month that just ended."""

import datetime as dt

import dagster as dg
import pytest

from taxi_assets import defs
from taxi_assets.shared.partitions import latest_publishable_month

SCHEDULE = defs.resolve_schedule_def("yellow_taxi_job_schedule")
# Dagster's own builder calls a method it has deprecated; nothing for us to change.
pytestmark = pytest.mark.filterwarnings("ignore:Function `JobDefinition.run_request_for_partition`")


def tick(at: dt.datetime) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(scheduled_execution_time=at.replace(tzinfo=dt.UTC))
    return list(SCHEDULE.evaluate_tick(context).run_requests or [])


@pytest.mark.parametrize(
    ("at", "month"),
    [
        (dt.datetime(2021, 2, 2, 6), "2021-01"),
        (dt.datetime(2021, 3, 2, 6), "2021-02"),
        (dt.datetime(2021, 4, 2, 6), "2021-03"),
    ],
)
def test_a_tick_requests_the_month_that_just_ended(at: dt.datetime, month: str) -> None:
    (request,) = tick(at)
    assert request.partition_key == month
    assert request.run_key == month


def test_ticks_after_the_last_month_repeat_its_run_key_so_it_never_runs_twice() -> None:
    last = latest_publishable_month()
    after = dt.datetime.strptime(last, "%Y-%m") + dt.timedelta(days=400)
    keys = {
        (r.partition_key, r.run_key)
        for at in (0, 31, 62)
        for r in tick(after.replace(day=2, hour=6) + dt.timedelta(days=at))
    }
    assert keys == {(last, last)}


def test_a_tick_after_the_mirrors_last_month_requests_the_month_that_just_ended() -> None:
    (request,) = tick(dt.datetime(2021, 9, 2, 6))
    assert request.partition_key == "2021-08"


def test_the_schedule_targets_both_assets_through_the_job() -> None:
    assert SCHEDULE.job_name == "yellow_taxi_job"
    assert SCHEDULE.default_status == dg.DefaultScheduleStatus.STOPPED
