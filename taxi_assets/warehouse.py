"""Postgres load mechanics: the partitioned parent, COPY into staging, gates, the atomic swap.

A month is replaced in one transaction on one connection:
  1. a session advisory lock for the month serialises writers of that month (others wait);
  2. a fresh staging table, created from the schema contract with a CHECK on the month, is
     filled by `COPY ... FROM STDIN` straight from the decompressed stream (FREEZE: the table
     is new in this transaction);
  3. gates compare the staged rows with what the lake's manifest promises;
  4. under `lock_timeout`, the old child is dropped and the staging table renamed and attached
     (the CHECK lets ATTACH skip its validation scan).
Readers see the old month or the new one; a failure anywhere rolls everything back.
"""

import contextlib
import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from taxi_assets.errors import BadSourceFileError, LoadRejectedError, TaxiError, TransientError
from taxi_assets.schema import (
    MONTH_COLUMN,
    WAREHOUSE_COLUMNS,
    Column,
    column_definitions,
    source_column_list,
)

PARENT_TABLE = "yellow_taxi"
_LOCK_NAMESPACE = 0x7A71  # first key of pg_advisory_lock(int, int): "taxi"
_DDL_LOCK = 0  # second key for creating the parent table
PREVIEW_ROWS = 5
FINITE_NUMBERS = "finite_numbers"


def finite_numbers_predicate(columns: Sequence[Column] = WAREHOUSE_COLUMNS) -> sql.Composed:
    """True unless a numeric column holds NaN or ±Infinity (Postgres numeric accepts all three).

    NaN sorts above every number and Infinity equals itself, so one comparison a column tells
    them from finite values; NULL passes.
    """
    return sql.SQL(" AND ").join(
        sql.SQL("abs({}) < 'Infinity'").format(sql.Identifier(c.name))
        for c in columns
        if c.pg_type == "numeric"
    )


@dataclass(frozen=True)
class LoadStats:
    """What one month's replacement did."""

    table: str
    rows: int
    seconds: float
    first_rows: tuple[tuple, ...] = ()

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def child_table(month: dt.date) -> str:
    """The lesson's per-month table name, `yellow_taxi_YYYY_MM`."""
    return f"{PARENT_TABLE}_{month:%Y_%m}"


def _staging_table(month: dt.date) -> str:
    return f"{child_table(month)}_staging"


def ensure_schema(conn: psycopg.Connection, schema: str) -> None:
    """Create the schema only if the catalog lacks it.

    `CREATE SCHEMA IF NOT EXISTS` needs CREATE on the database even when the schema exists,
    which a least-privilege role that owns its schema (and nothing else) does not have.
    """
    found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    if found is None:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def ensure_parent(conn: psycopg.Connection, schema: str) -> None:
    """Create the schema and the list-partitioned parent table if they do not exist."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_NAMESPACE, _DDL_LOCK))
        ensure_schema(conn, schema)
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}) PARTITION BY LIST ({})").format(
                sql.Identifier(schema, PARENT_TABLE),
                column_definitions(),
                sql.Identifier(MONTH_COLUMN.name),
            )
        )


def replace_month(
    conn: psycopg.Connection,
    schema: str,
    month: dt.date,
    csv_chunks: Iterable[bytes],
    expected_rows: int,
    where: str,
    lock_timeout_seconds: float,
) -> LoadStats:
    """Atomically replace one month's child table with the rows of `csv_chunks` (CSV + header).

    `where` names the month and file in error messages. Raises LoadRejectedError when a gate
    fails, BadSourceFileError when COPY rejects a line, TransientError on lock timeout.
    """
    started = time.monotonic()
    with terminal_errors(where, schema):
        ensure_parent(conn, schema)
        # Keyed by schema and month: writers of the same month of the same table wait for each
        # other; other schemas in the same database (and other months) never do.
        lock_key = (f"{schema}.{PARENT_TABLE}", month.year * 100 + month.month)
        conn.execute("SELECT pg_advisory_lock(hashtext(%s), %s)", lock_key)
        try:
            with conn.transaction():
                staging = _create_staging(conn, schema, month)
                rows = _copy_rows(conn, staging, csv_chunks, where)
                if rows != expected_rows:
                    raise LoadRejectedError(
                        f"{where}: staged {rows:,} rows but the lake manifest records "
                        f"{expected_rows:,}; the month was not replaced"
                    )
                conn.execute(sql.SQL("ANALYZE {}").format(staging))
                first_rows = _first_rows(conn, staging)
                _swap_in(conn, schema, month, lock_timeout_seconds, where)
        finally:
            with contextlib.suppress(psycopg.Error):  # a broken connection released it already
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", lock_key)
    return LoadStats(child_table(month), rows, time.monotonic() - started, first_rows)


@contextlib.contextmanager
def terminal_errors(where: str, schema: str) -> Iterator[None]:
    """Errors that no retry can cure, turned into terminal ones naming the month and the fix.

    A statement_timeout cancels the statement (QueryCanceled, an OperationalError that would
    otherwise count as the warehouse going away) and would cancel every retry the same way.
    """
    try:
        yield
    except psycopg.errors.QueryCanceled as exc:
        raise TaxiError(
            f"{where}: Postgres canceled a statement of the load ({_describe(exc)}): a "
            "statement_timeout on the role or database, or an operator's cancel; retrying "
            "would be canceled the same way. Lift it for the loading role (ALTER ROLE ... SET "
            "statement_timeout = 0) and materialize again; the month's previous rows are "
            "unchanged"
        ) from exc
    except psycopg.errors.InsufficientPrivilege as exc:
        raise TaxiError(
            f"{where}: the warehouse role lacks a privilege ({_describe(exc)}); it must own "
            f"schema {schema}, or the schema must not exist yet and the role hold CREATE on the "
            "database (see docs/failure-modes.md, Grants); the month's previous rows are "
            "unchanged"
        ) from exc


def _first_rows(conn: psycopg.Connection, staging: sql.Identifier) -> tuple[tuple, ...]:
    """The first rows as loaded (file order: the table is fresh), for the metadata preview."""
    columns = sql.SQL(", ").join(sql.Identifier(c.name) for c in WAREHOUSE_COLUMNS)
    query = sql.SQL("SELECT {} FROM {} LIMIT %s").format(columns, staging)
    return tuple(conn.execute(query, (PREVIEW_ROWS,)).fetchall())


def _create_staging(conn: psycopg.Connection, schema: str, month: dt.date) -> sql.Identifier:
    staging = sql.Identifier(schema, _staging_table(month))
    first_day = sql.Literal(month)
    month_column = sql.Identifier(MONTH_COLUMN.name)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging))
    conn.execute(
        sql.SQL("CREATE TABLE {} ({}, CHECK ({} = {}), CONSTRAINT {} CHECK ({}))").format(
            staging,
            column_definitions(),
            month_column,
            first_day,
            sql.Identifier(FINITE_NUMBERS),
            finite_numbers_predicate(),
        )
    )
    conn.execute(
        sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
            staging, month_column, first_day
        )
    )
    return staging


def _copy_rows(
    conn: psycopg.Connection, staging: sql.Identifier, csv_chunks: Iterable[bytes], where: str
) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true, FREEZE true)").format(
        staging, source_column_list()
    )
    try:
        with conn.cursor() as cur:
            with cur.copy(statement) as copy:
                for chunk in csv_chunks:
                    copy.write(chunk)
            return cur.rowcount
    except psycopg.errors.DataError as exc:
        raise BadSourceFileError(
            f"{where} has a row Postgres rejects: {_describe(exc)}; the month's previous rows "
            "are unchanged"
        ) from exc
    except psycopg.errors.CheckViolation as exc:
        if exc.diag.constraint_name != FINITE_NUMBERS:
            raise
        raise BadSourceFileError(
            f"{where} has a NaN or infinite number, which no fare or distance can be: "
            f"{_describe(exc)}; the month's previous rows are unchanged"
        ) from exc
    except psycopg.errors.IntegrityError as exc:
        raise LoadRejectedError(
            f"{where} breaks a key constraint: {_describe(exc)}; the month was not replaced"
        ) from exc


def _describe(exc: psycopg.Error) -> str:
    """`<message> (COPY …, line N, column C: "…")`: the server's own pointer to the line."""
    primary = exc.diag.message_primary or str(exc)
    context = (exc.diag.context or "").strip().replace("\n", "; ")
    return f"{primary} ({context})" if context else primary


def _swap_in(
    conn: psycopg.Connection, schema: str, month: dt.date, lock_timeout_seconds: float, where: str
) -> None:
    child = child_table(month)
    conn.execute(
        "SELECT set_config('lock_timeout', %s, true)", (f"{int(lock_timeout_seconds * 1000)}ms",)
    )
    try:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, child)))
        conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(schema, _staging_table(month)), sql.Identifier(child)
            )
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                sql.Identifier(schema, PARENT_TABLE),
                sql.Identifier(schema, child),
                sql.Literal(month),
            )
        )
    except psycopg.errors.LockNotAvailable as exc:
        raise TransientError(
            f"{where}: another session held {schema}.{child} or {schema}.{PARENT_TABLE} for "
            f"more than {lock_timeout_seconds:g}s, so the swap gave up; the previous rows are "
            "in place; retry when long-running queries on the table have finished"
        ) from exc
