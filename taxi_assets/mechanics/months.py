"""Months as the loads see them: strict `YYYY-MM` parsing and month arithmetic, no Dagster.

Every path and SQL value is built from a parsed date, never from the raw key, so a hostile key
(`../../x`, `2021-01'; drop table x;--`) is rejected before it reaches either.
"""

import datetime as dt

MONTH_FORMAT = "%Y-%m"


def parse_month(key: str) -> dt.date:
    """Parse a `YYYY-MM` partition key into the first day of that month, or raise ValueError."""
    try:
        parsed = dt.datetime.strptime(key, MONTH_FORMAT).date()
    except (TypeError, ValueError):
        raise ValueError(f"partition key {key!r} is not a month of the form YYYY-MM") from None
    if parsed.strftime(MONTH_FORMAT) != key:
        raise ValueError(f"partition key {key!r} is not a month of the form YYYY-MM")
    return parsed


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after `month`'s."""
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    """The first day of the month before `month`'s."""
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def month_after(key: str) -> str:
    """The `YYYY-MM` key of the month after `key`."""
    return next_month(parse_month(key)).strftime(MONTH_FORMAT)
