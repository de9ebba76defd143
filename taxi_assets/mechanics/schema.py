"""A column contract: one declaration drives the DDL, the COPY column list, the header check
and (through shared/metadata.py) the `dagster/column_schema` metadata. Datasets declare
theirs in `datasets.py`."""

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql


@dataclass(frozen=True)
class Column:
    """One warehouse column: its name (the source header's), types and meaning.

    `since` marks a column the mirror's CSVs lack, added to the dataset later: the TLC's files
    carry it from that month on (earlier ones may carry it too, or not: then it loads as NULL).
    `aliases` are other spellings the TLC's Parquet files use for it (`Airport_fee`).
    """

    name: str
    pg_type: str
    pandas_dtype: str
    description: str
    nullable: bool = True
    since: str | None = None
    aliases: tuple[str, ...] = ()


MONTH_COLUMN = Column(
    "file_month",
    "date",
    "datetime64[us]",
    "First day of the month of the source file the row came from (the partition).",
    nullable=False,
)


def header_difference(expected: Sequence[str], found: Sequence[str]) -> str | None:
    """Describe how a CSV header differs from `expected`, or None when it matches exactly."""
    if tuple(found) == tuple(expected):
        return None
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing columns {missing}")
    if extra:
        parts.append(f"unexpected columns {extra}")
    if not parts:
        parts.append(f"columns reordered: expected {list(expected)}, found {list(found)}")
    return "; ".join(parts)


def column_definitions(columns: Sequence[Column]) -> sql.Composed:
    """`"col" type [NOT NULL], ...` for CREATE TABLE."""
    return sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(
            sql.Identifier(c.name),
            sql.SQL(c.pg_type),
            sql.SQL("" if c.nullable else " NOT NULL"),
        )
        for c in columns
    )


def column_list(columns: Sequence[Column]) -> sql.Composed:
    """The quoted column names, in order, for COPY and SELECT."""
    return sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
