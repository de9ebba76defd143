"""The monthly calendar shared by a dataset's assets, job, schedule and the analytics."""

import datetime as dt
import os

import dagster as dg

from taxi_assets.mechanics.months import MONTH_FORMAT, month_after, parse_month

FIRST_PUBLISHED_MONTH = "2019-01"
LAST_PUBLISHED_MONTH = "2021-07"

# The schedule's tick, Airflow's `0 6 2 * *` (UTC): each tick loads the month that just ended,
# and a month counts as late when it is not in the warehouse LOAD_GRACE after the tick.
SCHEDULE_DAY_OF_MONTH = 2
SCHEDULE_HOUR_UTC = 6
LOAD_GRACE = dt.timedelta(hours=3)


def monthly_freshness() -> dg.FreshnessPolicy:
    """Fresh when loaded between the schedule's tick and LOAD_GRACE after it, every month."""
    deadline = dt.datetime(2000, 1, SCHEDULE_DAY_OF_MONTH, SCHEDULE_HOUR_UTC) + LOAD_GRACE
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"{deadline.minute} {deadline.hour} {deadline.day} * *",
        lower_bound_delta=LOAD_GRACE,
        timezone="UTC",
    )


def monthly_partitions(first: str, last: str) -> dg.MonthlyPartitionsDefinition:
    """Monthly partitions keyed `YYYY-MM` from `first` through `last`, both inclusive.

    Taking the last month (not an exclusive end date) avoids the lesson's trap where
    `end_date=2021-03-28` silently dropped March.
    """
    return dg.MonthlyPartitionsDefinition(
        start_date=parse_month(first).strftime(MONTH_FORMAT),
        end_date=month_after(last),
        fmt=MONTH_FORMAT,
    )


def partitions_for(first: str, last: str) -> dg.MonthlyPartitionsDefinition:
    """A dataset's monthly partitions: its own bounds unless TAXI_FIRST_MONTH or TAXI_LAST_MONTH
    override them (for every dataset).

    Partition bounds shape the asset graph itself, so they are read when the code location
    loads (the one setting that cannot wait for resource setup).
    """
    return monthly_partitions(
        os.environ.get("TAXI_FIRST_MONTH", first), os.environ.get("TAXI_LAST_MONTH", last)
    )


month_partitions = partitions_for(FIRST_PUBLISHED_MONTH, LAST_PUBLISHED_MONTH)
