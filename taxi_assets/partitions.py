"""The monthly calendar shared by assets, job and schedule, and strict month parsing."""

import datetime as dt
import os

import dagster as dg

MONTH_FORMAT = "%Y-%m"
FIRST_PUBLISHED_MONTH = "2019-01"
LAST_PUBLISHED_MONTH = "2021-07"

# The schedule's tick, Airflow's `0 6 2 * *` (UTC): each tick loads the month that just ended,
# and a month counts as late when it is not in the warehouse LOAD_GRACE after the tick.
SCHEDULE_DAY_OF_MONTH = 2
SCHEDULE_HOUR_UTC = 6
LOAD_GRACE = dt.timedelta(hours=3)


def _month_after(month: str) -> str:
    first = parse_month(month)
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1).strftime(MONTH_FORMAT)


def monthly_freshness() -> dg.FreshnessPolicy:
    """Fresh when loaded between the schedule's tick and LOAD_GRACE after it, every month."""
    deadline = dt.datetime(2000, 1, SCHEDULE_DAY_OF_MONTH, SCHEDULE_HOUR_UTC) + LOAD_GRACE
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"{deadline.minute} {deadline.hour} {deadline.day} * *",
        lower_bound_delta=LOAD_GRACE,
        timezone="UTC",
    )


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after `month`'s."""
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def parse_month(key: str) -> dt.date:
    """Parse a `YYYY-MM` partition key into the first day of that month, or raise ValueError.

    Every path and SQL value is built from this date, never from the raw key, so a hostile
    key (`../../x`, `2021-01'; drop table x;--`) is rejected before it reaches either.
    """
    try:
        parsed = dt.datetime.strptime(key, MONTH_FORMAT).date()
    except (TypeError, ValueError):
        raise ValueError(f"partition key {key!r} is not a month of the form YYYY-MM") from None
    if parsed.strftime(MONTH_FORMAT) != key:
        raise ValueError(f"partition key {key!r} is not a month of the form YYYY-MM")
    return parsed


def monthly_partitions(first: str, last: str) -> dg.MonthlyPartitionsDefinition:
    """Monthly partitions keyed `YYYY-MM` from `first` through `last`, both inclusive.

    Taking the last month (not an exclusive end date) avoids the lesson's trap where
    `end_date=2021-03-28` silently dropped March.
    """
    return dg.MonthlyPartitionsDefinition(
        start_date=parse_month(first).strftime(MONTH_FORMAT),
        end_date=_month_after(last),
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
