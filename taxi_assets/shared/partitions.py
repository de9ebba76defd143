"""The monthly calendar shared by a dataset's assets, job, schedule and the analytics."""

import datetime as dt
import os

import dagster as dg

from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.months import MONTH_FORMAT, month_after, parse_month

FIRST_PUBLISHED_MONTH = "2019-01"
LAST_PUBLISHED_MONTH = "2021-07"  # the mirror's last month; the TLC's files go on from there
# The TLC publishes month M 47-62 days after M ends (docs/datasets.md): sooner, it cannot be there.
TLC_PUBLICATION_DAYS = 47

# The schedule's tick, Airflow's `0 6 2 * *` (UTC): each tick loads the mirror's month that
# just ended.
SCHEDULE_DAY_OF_MONTH = 2
SCHEDULE_HOUR_UTC = 6
# The TLC's window closes 62 days after a month ends: between the 31st of the month after next
# and the 3rd of the one after that. A month is late when nothing was loaded in the 20 days up
# to 06:00 UTC on the 4th (the window opens, day 47, between the 15th and the 19th).
PUBLICATION_DEADLINE_DAY = 4
PUBLICATION_WINDOW = dt.timedelta(days=20)


def publication_freshness() -> dg.FreshnessPolicy:
    """Fresh when a month was loaded during the TLC's publication window, every month: the UI
    marks the asset late once the month the TLC was due to publish has not arrived."""
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"0 {SCHEDULE_HOUR_UTC} {PUBLICATION_DEADLINE_DAY} * *",
        lower_bound_delta=PUBLICATION_WINDOW,
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


def latest_publishable_month(today: dt.date | None = None) -> str:
    """The latest month the TLC can have published by `today` (UTC): month M appears at the
    earliest TLC_PUBLICATION_DAYS after its last day."""
    today = today or dt.datetime.now(dt.UTC).date()
    after = (today - dt.timedelta(days=TLC_PUBLICATION_DAYS)).replace(day=1)  # M + 1 at most
    return (after - dt.timedelta(days=1)).strftime(MONTH_FORMAT)


def partitions_for(
    first: str, last: str | None, earliest: str | None = None, older_layout: str = ""
) -> dg.MonthlyPartitionsDefinition:
    """A dataset's monthly partitions: its own bounds (no last month: the latest the TLC can
    have published) unless TAXI_FIRST_MONTH or TAXI_LAST_MONTH override them (for every
    dataset).

    TAXI_FIRST_MONTH goes no earlier than the dataset's `earliest` month: a dataset the TLC
    has no earlier file of starts there; one whose earlier files use another layout
    (`older_layout` says which) refuses, rather than loading them wrong. Partition bounds shape
    the asset graph itself, so they are read when the code location loads (the one setting
    that cannot wait for resource setup).
    """
    first = os.environ.get("TAXI_FIRST_MONTH", first)
    if earliest and parse_month(first) < parse_month(earliest):
        if older_layout:
            raise TaxiError(f"TAXI_FIRST_MONTH={first}: {older_layout}")
        first = earliest
    last = os.environ.get("TAXI_LAST_MONTH", last or latest_publishable_month())
    return monthly_partitions(first, last)


month_partitions = partitions_for(FIRST_PUBLISHED_MONTH, None)
