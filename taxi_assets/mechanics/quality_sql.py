"""The SQL behind the data-quality checks: one scan of a month's child table, in Postgres.

Counting happens where the rows are; Python only compares the counts with the thresholds.
"""

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg import sql

from taxi_assets.mechanics.dataset_spec import DatasetSpec, WarningRule
from taxi_assets.mechanics.months import next_month


@dataclass(frozen=True)
class MonthCounts:
    """One month's row count and how many rows each warning flags."""

    rows: int
    flagged: dict[str, int]


# Beyond this, a fare, fee or distance is absurd (the largest real ones are thousands), but
# Postgres numeric holds it exactly (`1e309` is a valid numeric), so it is reported, not refused.
EXTREME_MAGNITUDE = 1_000_000


def extreme_columns(spec: DatasetSpec) -> list[str]:
    """The columns the `extreme` rule looks at: the file's amounts and distances."""
    return [c.name for c in spec.columns if c.pg_type == "numeric"]


def _predicate(spec: DatasetSpec, rule: WarningRule) -> sql.Composable:
    """The SQL that flags a row for `rule` (duplicates are counted apart, as extra copies)."""
    columns = [sql.Identifier(c) for c in rule.columns]
    if rule.kind == "extreme":
        return sql.SQL(" OR ").join(
            sql.SQL("abs({}) > {}").format(sql.Identifier(c), sql.Literal(EXTREME_MAGNITUDE))
            for c in extreme_columns(spec)
        )
    if rule.kind == "outside_month":
        return sql.SQL("{0} < %(start)s OR {0} >= %(end)s").format(columns[0])
    if rule.kind == "negative":
        return sql.SQL("{} < 0").format(columns[0])
    if rule.kind == "before":
        return sql.SQL("{} < {}").format(columns[0], columns[1])
    if rule.kind == "missing":
        return sql.SQL("{} IS NULL").format(columns[0])
    raise ValueError(f"no row predicate for a {rule.kind} rule")


def _count(spec: DatasetSpec, rule: WarningRule, duplicates: int | None) -> sql.Composable:
    if rule.kind == "duplicates":
        if duplicates is not None:  # the load's own count of repeated lines (duplicates.py)
            return sql.Literal(duplicates)
        # Repeated rows by their 64-bit hash, in the same scan: exact up to hash collisions,
        # and still about five times the cost of the other counts together.
        return sql.SQL("count(*) - count(DISTINCT hash_record_extended(t, 0))")
    return sql.SQL("count(*) FILTER (WHERE {})").format(_predicate(spec, rule))


def month_counts(
    conn: psycopg.Connection,
    schema: str,
    spec: DatasetSpec,
    month: dt.date,
    duplicates: int | None = None,
) -> MonthCounts | None:
    """Count the month's rows and flagged rows in one scan; None if the month is not loaded.

    `duplicates` is the load's own count of repeated lines; without it (checks run on their
    own) the scan counts repeated rows as well.
    """
    if not _exists(conn, schema, spec.child_table(month)):
        return None
    table = sql.Identifier(schema, spec.child_table(month))
    return table_counts(conn, table, spec, month, duplicates)


def table_counts(
    conn: psycopg.Connection,
    table: sql.Identifier,
    spec: DatasetSpec,
    month: dt.date,
    duplicates: int | None = None,
) -> MonthCounts:
    """The same counts, in one scan, of any table holding the month (its staged rows too)."""
    counts = [sql.SQL("count(*)"), *(_count(spec, rule, duplicates) for rule in spec.warnings)]
    query = sql.SQL("SELECT {} FROM {} AS t").format(sql.SQL(", ").join(counts), table)
    row = conn.execute(query, {"start": month, "end": next_month(month)}).fetchone()
    assert row is not None
    names = [rule.name for rule in spec.warnings]
    return MonthCounts(rows=row[0], flagged=dict(zip(names, row[1:], strict=True)))


def with_duplicates(counts: MonthCounts, spec: DatasetSpec, duplicates: int) -> MonthCounts:
    """`counts` with the dataset's duplicate rule set to the load's own count."""
    names = {rule.name for rule in spec.warnings if rule.kind == "duplicates"}
    flagged = {name: duplicates if name in names else n for name, n in counts.flagged.items()}
    return MonthCounts(counts.rows, flagged)


def outside_month_rows(
    conn: psycopg.Connection, table: sql.Identifier, spec: DatasetSpec, month: dt.date
) -> tuple[int, int]:
    """(rows, rows whose pickup lies outside `month`) of a table holding the month, one scan;
    the pickup column is the one the dataset's `outside_month` rule names."""
    rule = next(r for r in spec.warnings if r.kind == "outside_month")
    query = sql.SQL("SELECT count(*), {} FROM {} AS t").format(_count(spec, rule, None), table)
    row = conn.execute(query, {"start": month, "end": next_month(month)}).fetchone()
    assert row is not None
    return row[0], row[1]


def column_types(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str, bool]]:
    """(name, type, nullable) of a table's columns in order, as Postgres reports them."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (schema, table),
    ).fetchall()
    return [(name, pg_type, nullable) for name, pg_type, nullable in rows]


def contract_types(spec: DatasetSpec) -> list[tuple[str, str, bool]]:
    """The same triples as the dataset's contract promises them."""
    aliases = {"timestamp": "timestamp without time zone"}
    return [(c.name, aliases.get(c.pg_type, c.pg_type), c.nullable) for c in spec.warehouse_columns]


def _exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    name = sql.Identifier(schema, table).as_string(conn)
    found = conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()
    return found is not None and found[0] is not None
