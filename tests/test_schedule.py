"""The schedule's ticks: Airflow's `0 6 2 * *`, each loading the mirror's month that just ended."""

import datetime as dt

import dagster as dg
import pytest

from taxi_assets import defs

SCHEDULE = defs.resolve_schedule_def("yellow_taxi_job_schedule")
REPOSITORY = defs.get_repository_def()


def tick(at: dt.datetime) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(
        scheduled_execution_time=at.replace(tzinfo=dt.UTC), repository_def=REPOSITORY
    )
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


def tick_skip(at: dt.datetime) -> str:
    context = dg.build_schedule_context(
        scheduled_execution_time=at.replace(tzinfo=dt.UTC), repository_def=REPOSITORY
    )
    result = SCHEDULE.evaluate_tick(context)
    assert not result.run_requests
    return result.skip_message or ""


def test_a_tick_after_the_mirrors_last_month_leaves_the_month_to_the_tlc_sensor() -> None:
    assert tick(dt.datetime(2021, 8, 2, 6))[0].partition_key == "2021-07"
    message = tick_skip(dt.datetime(2021, 9, 2, 6))
    assert "2021-08 is not one of the mirror's months (2019-01..2021-07)" in message
    assert "yellow_taxi_tlc_sensor loads it" in message


def test_a_dataset_the_mirror_lacks_never_runs_on_the_schedule() -> None:
    schedule = defs.resolve_schedule_def("fhvhv_taxi_job_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2021, 3, 2, 6, tzinfo=dt.UTC),
        repository_def=REPOSITORY,
    )
    result = schedule.evaluate_tick(context)
    assert not result.run_requests and "mirror's months (none)" in (result.skip_message or "")


def test_the_schedule_targets_both_assets_through_the_job() -> None:
    assert SCHEDULE.job_name == "yellow_taxi_job"
    assert SCHEDULE.default_status == dg.DefaultScheduleStatus.STOPPED
