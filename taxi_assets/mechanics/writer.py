"""The warehouse writer: every write to Postgres goes through here (trip months, zones, marts).

It owns connecting (bounded retries), one advisory-lock namespace keyed by (schema, table,
slice), staging tables, COPY error mapping, the gates and the swap. A write is one
transaction on one connection; readers see the old rows or the new ones, never a mix:
  - a month of a trip table: COPY into a fresh staging table with a CHECK on the month, gate
    its rows against the lake's manifest, then drop the old child and rename and ATTACH the new
    one under `lock_timeout` (the CHECK lets ATTACH skip its validation scan). Its rows come
    checked for NaN and infinities by the caller's stream (finite_numbers.py: a CHECK for them
    cost the COPY backend 15% of its CPU);
  - a whole small table (zones): COPY into staging, gate, drop and rename;
  - a month of a mart: delete the month's rows and insert them again.
No Dagster here: the assets call it through a resource.
"""

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import psycopg
import tenacity
from psycopg import sql

from taxi_assets.mechanics.copy_format import CSV, CopyFormat
from taxi_assets.mechanics.copy_streams import (
    BLOCK_BYTES,
    CopyStream,
    LineMap,
    StreamError,
    copy_split,
    line_blocks,
)
from taxi_assets.mechanics.credentials import masked_url, redact
from taxi_assets.mechanics.disk_space import data_directory, shortfall
from taxi_assets.mechanics.errors import (
    BadSourceFileError,
    LoadRejectedError,
    TaxiError,
    TransientError,
)
from taxi_assets.mechanics.load_slots import (
    DEFAULT_LOAD_SLOT_TIMEOUT_SECONDS,
    DEFAULT_LOAD_SLOTS,
    load_slot,
    release_load_slot,
    try_load_slot,
)
from taxi_assets.mechanics.malloc_bounds import bounded_malloc
from taxi_assets.mechanics.schema import Column, column_definitions, column_list

PREVIEW_ROWS = 5
_LOG = logging.getLogger(__name__)
_NO_ORDER = sql.SQL("")
_WHOLE_TABLE = 0  # lock slice for a write replacing a whole table
_DDL = -1  # lock slice for creating a table
StagedCheck = Callable[[psycopg.Connection, sql.Identifier], None]


@dataclass(frozen=True)
class Table:
    """A warehouse table: its columns, primary key, and the column it is LIST-partitioned on."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    partitioned_by: str | None = None

    @property
    def file_columns(self) -> tuple[Column, ...]:
        """The columns a mirror's CSV fills, in file order (the partition column comes from the
        month; columns added later, with a `since`, stay NULL)."""
        return tuple(c for c in self.columns if c.name != self.partitioned_by and not c.since)

    @property
    def later_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.since)


@dataclass(frozen=True)
class LoadStats:
    """What one write did."""

    table: str
    rows: int
    seconds: float
    first_rows: tuple[tuple, ...] = ()
    copy_streams: int = 1  # COPY connections that wrote the rows at once

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def retrying(attempts: int, first_wait: float, max_wait: float, on: type[BaseException] | tuple):
    """Bounded exponential backoff with jitter; re-raises the last error when attempts run out."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(on),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_random_exponential(multiplier=first_wait, max=max_wait),
        reraise=True,
    )


def month_slice(month: dt.date) -> int:
    """The lock slice of a month: `yyyymm`."""
    return month.year * 100 + month.month


class LoadControl(Protocol):
    """What steers a month's load from outside: its connection cancelled on an interrupt, and
    its COMMIT only when the caller allows it (month_runner.Lane)."""

    def cancellable(self, conn: psycopg.Connection) -> AbstractContextManager: ...

    def commit_turn(self) -> AbstractContextManager: ...


class _Uncontrolled:
    """A load nobody steers: never cancelled from outside, committed as soon as it is done."""

    def cancellable(self, conn: psycopg.Connection) -> AbstractContextManager:
        return contextlib.nullcontext(conn)

    def commit_turn(self) -> AbstractContextManager:
        return contextlib.nullcontext()


_UNCONTROLLED = _Uncontrolled()


@dataclass(frozen=True)
class WarehouseWriter:
    """One schema of one Postgres database, written only through these methods."""

    url: str
    schema: str
    connect_attempts: int = 5
    connect_timeout_seconds: int = 10
    lock_timeout_seconds: float = 10.0
    load_attempts: int = 3
    first_backoff_seconds: float = 1.0
    load_slots: int = DEFAULT_LOAD_SLOTS  # COPY streams at once into this schema, all runs together
    load_slot_timeout_seconds: float = DEFAULT_LOAD_SLOT_TIMEOUT_SECONDS  # then it fails
    second_stream: bool = True  # a month's second COPY stream, holding a free load slot
    copy_block_bytes: int = BLOCK_BYTES  # what one stream is handed at a time

    @property
    def display_url(self) -> str:
        return masked_url(self.url)

    @contextlib.contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection (transactions explicit), retried while the server is away."""
        try:
            conn = retrying(self.connect_attempts, 0.5, 10.0, psycopg.OperationalError)(
                psycopg.connect,
                self.url,
                autocommit=True,
                connect_timeout=self.connect_timeout_seconds,
                application_name="taxi_assets",
            )
        except psycopg.OperationalError as exc:
            raise TransientError(
                f"cannot connect to the warehouse at {self.display_url} after "
                f"{self.connect_attempts} attempts: {redact(str(exc), self.url)}"
            ) from None
        except psycopg.Error:  # a malformed URL's message may quote the password: withheld
            raise TaxiError(
                f"the warehouse URL {self.display_url} is malformed: libpq cannot parse it (its "
                "message is withheld, as it may quote the password); check TAXI_PG_URL for "
                "unescaped spaces or reserved characters (percent-encode them) and the host"
            ) from None
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def terminal_errors(self, where: str) -> Iterator[None]:
        """Errors no retry can cure, turned into terminal ones naming the month and the fix.

        A statement_timeout cancels the statement (QueryCanceled, an OperationalError that would
        otherwise count as the warehouse going away) and would cancel every retry the same way.
        """
        try:
            yield
        except psycopg.errors.QueryCanceled as exc:
            raise TaxiError(
                f"{where}: Postgres canceled a statement of the load ({_describe(exc)}): a "
                "statement_timeout on the role or database, or an operator's cancel; retrying "
                "would be canceled the same way. Lift it for the loading role (ALTER ROLE ... "
                "SET statement_timeout = 0) and materialize again; the previous rows are "
                "unchanged"
            ) from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise TaxiError(
                f"{where}: the warehouse role lacks a privilege ({_describe(exc)}); it must own "
                f"schema {self.schema}, or the schema must not exist yet and the role hold "
                "CREATE on the database (see docs/failure-modes.md, Grants); the previous rows "
                "are unchanged"
            ) from exc

    def ensure_schema(self, conn: psycopg.Connection) -> None:
        """Create the schema only if the catalog lacks it.

        `CREATE SCHEMA IF NOT EXISTS` needs CREATE on the database even when the schema exists,
        which a least-privilege role that owns its schema (and nothing else) does not have.
        """
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,))
        if found.fetchone() is None:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )

    def ident(self, table: str) -> sql.Identifier:
        return sql.Identifier(self.schema, table)

    def lock(self, conn: psycopg.Connection, table: str, slice_: int) -> None:
        """Wait for the transaction-scoped lock on (schema, table, slice): writers of the same
        slice take turns; other slices, tables and schemas never wait for each other."""
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s), %s)", self._lock_key(table, slice_)
        )

    @contextlib.contextmanager
    def session_lock(self, conn: psycopg.Connection, table: str, slice_: int) -> Iterator[None]:
        """The same lock held by the session across several transactions (the same key: a
        writer holding either makes the other wait)."""
        key = self._lock_key(table, slice_)
        conn.execute("SELECT pg_advisory_lock(hashtext(%s), %s)", key)
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):  # a broken connection released it already
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", key)

    def _lock_key(self, table: str, slice_: int) -> tuple[str, int]:
        return f"{self.schema}.{table}", slice_

    def ensure(self, conn: psycopg.Connection, table: Table) -> None:
        """Create the schema and the table (a LIST-partitioned parent if so declared)."""
        with conn.transaction():
            self.lock(conn, table.name, _DDL)
            self.ensure_schema(conn)
            conn.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}{}){}").format(
                    self.ident(table.name),
                    column_definitions(table.columns),
                    _primary_key(table.primary_key),
                    sql.SQL(" PARTITION BY LIST ({})").format(sql.Identifier(table.partitioned_by))
                    if table.partitioned_by
                    else sql.SQL(""),
                )
            )
            self._add_later_columns(conn, table)

    def _add_later_columns(self, conn: psycopg.Connection, table: Table) -> None:
        """Add the declared later columns a table made before them lacks: nullable and without
        a default, so Postgres only records them in the catalog (no month is rewritten). The
        catalog is asked first: ALTER TABLE would lock the table even for nothing to add."""
        if not table.later_columns:
            return
        found = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
            "AND NOT attisdropped",
            (self.ident(table.name).as_string(conn),),
        )
        present = {row[0] for row in found.fetchall()}
        for column in table.later_columns:
            if column.name not in present:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                        self.ident(table.name), sql.Identifier(column.name), sql.SQL(column.pg_type)
                    )
                )

    def exists(self, conn: psycopg.Connection, table: str) -> bool:
        found = conn.execute("SELECT to_regclass(%s)", (self.ident(table).as_string(conn),))
        row = found.fetchone()
        return row is not None and row[0] is not None

    # --- a month of a partitioned trip table -------------------------------------------------

    def replace_month(
        self,
        table: Table,
        month: dt.date,
        copy_chunks: Callable[[], Iterable[bytes]],
        expected_rows: int,
        where: str,
        log: logging.Logger = _LOG,
        control: LoadControl = _UNCONTROLLED,
        check_staged: StagedCheck = lambda conn, staging: None,
        columns: tuple[Column, ...] | None = None,
        needed_bytes: float = 0.0,
        copy_format: CopyFormat = CSV,
    ) -> LoadStats:
        """Atomically replace the month's child table with the rows `copy_chunks()` yields (CSV,
        or COPY text for a Parquet month: `copy_format`).

        `columns` are the stream's, in its order (default: the mirror's, `table.file_columns`).
        A server on this machine whose disk has less than `needed_bytes` free refuses the month
        before anything is written.

        Transient failures (the server gone, the swap's lock timeout) retry the whole month with
        backoff, `copy_chunks` called afresh each time. The load waits for one of the schema's
        load slots (load_slots.py); `control` (a ranged step's lane, month_runner.py) may cancel its
        connection when the run is interrupted and says when its COMMIT may happen.
        `check_staged(conn, staging)` runs in the transaction before the swap; what it raises
        leaves the month as it was.
        """
        transient = (TransientError, psycopg.OperationalError)
        try:
            for attempt in retrying(
                self.load_attempts, self.first_backoff_seconds, 30.0, transient
            ):
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        number = attempt.retry_state.attempt_number
                        log.warning(f"{month:%Y-%m}: load attempt {number}")
                    return self._replace_month_once(
                        table,
                        month,
                        copy_chunks(),
                        expected_rows,
                        where,
                        log,
                        control,
                        check_staged,
                        columns or table.file_columns,
                        needed_bytes,
                        copy_format,
                    )
        except transient as exc:
            reason = redact(str(exc), self.url)
            if not isinstance(exc, TransientError):  # ours already name the month and file
                reason = f"{where}: {reason}"
            raise TransientError(
                f"{reason}; gave up after {self.load_attempts} attempts; the month's previous "
                f"rows are unchanged: materialize it again once the warehouse at "
                f"{self.display_url} is reachable and not locked"
            ) from None
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _replace_month_once(
        self,
        table: Table,
        month: dt.date,
        chunks: Iterable[bytes],
        expected_rows: int,
        where: str,
        log: logging.Logger,
        control: LoadControl,
        check_staged: StagedCheck,
        columns: tuple[Column, ...],
        needed_bytes: float,
        copy_format: CopyFormat,
    ) -> LoadStats:
        started = time.monotonic()
        child = f"{table.name}_{month:%Y_%m}"
        staging = self.ident(f"{child}_staging")

        def waiting(slots: int) -> None:
            log.info(
                f"{month:%Y-%m}: waiting for a load slot (all {slots} are in use; gives up after "
                f"{self.load_slot_timeout_seconds:g}s)"
            )

        with (
            bounded_malloc(),
            self.connect() as conn,
            self.terminal_errors(where),
            control.cancellable(conn),
            load_slot(
                conn,
                self.schema,
                self.load_slots,
                waiting,
                timeout_seconds=self.load_slot_timeout_seconds,
                where=where,
            ),
        ):
            _refuse_without_room(conn, needed_bytes, where)
            self.ensure(conn, table)
            gate = _MonthGate(expected_rows, check_staged, where)
            if not self.second_stream or self.load_slots < 2:
                with _transaction_committed_in(conn, control.commit_turn):
                    self.lock(conn, table.name, month_slice(month))
                    self._create_month_staging(conn, table, staging, month)
                    rows = self._copy(conn, staging, columns, chunks, where, copy_format)
                    _gate_rows(rows, expected_rows, where)
                    first_rows = self._swap_month(conn, table, month, staging, gate)
                streams = 1
            else:
                with self.connect() as spare, control.cancellable(spare):
                    rows, first_rows, streams = self._load_in_streams(
                        conn,
                        spare,
                        table,
                        month,
                        staging,
                        columns,
                        chunks,
                        gate,
                        control,
                        copy_format,
                    )
        return LoadStats(child, rows, time.monotonic() - started, first_rows, streams)

    def _load_in_streams(
        self,
        conn: psycopg.Connection,
        spare: psycopg.Connection,
        table: Table,
        month: dt.date,
        staging: sql.Identifier,
        columns: tuple[Column, ...],
        chunks: Iterable[bytes],
        gate: "_MonthGate",
        control: LoadControl,
        copy_format: CopyFormat,
    ) -> tuple[int, tuple[tuple, ...], int]:
        """The month's rows COPYed into one staging table by `conn`, joined by `spare` as soon
        as a load slot is free (at the start, or when another load ends); the rows, the first
        rows and the streams that wrote them.

        The second connection must see the staging table, so it is created and committed
        first, under the month's session-level lock (the same key as the one-stream path's
        transaction lock, so writers of a month still take turns). The second stream commits
        its rows once the row count holds and gives its slot back; the swap then commits with
        the first stream's rows. Any failure drops the staging table; only a process killed
        mid-load leaves it behind, holding no month of anyone's, and the month's next load
        drops it.
        """
        joining = _JoiningStream(
            spare,
            self.schema,
            self.load_slots,
            self._copy_statement(staging, columns, copy_format, first_stream=False),
            copy_format,
        )
        with self.session_lock(conn, table.name, month_slice(month)):
            try:
                with conn.transaction():
                    self._create_month_staging(conn, table, staging, month)
                with _transaction_committed_in(conn, control.commit_turn):
                    with joining:
                        statement = self._copy_statement(staging, columns, copy_format, True)
                        first = CopyStream(conn, statement, copy_format.line_noun)
                        blocks = chunks
                        if not copy_format.whole_lines:
                            blocks = line_blocks(chunks, self.copy_block_bytes)
                        rows = self._copy_split(first, joining, blocks, gate.where)
                        _gate_rows(rows, gate.expected_rows, gate.where)
                        joining.commit()
                    first_rows = self._swap_month(conn, table, month, staging, gate)
            except BaseException:
                # On a broken connection the staging table stays: the month's next load drops it.
                with contextlib.suppress(psycopg.Error):
                    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging))
                raise
        return rows, first_rows, 1 + joining.joined

    def _swap_month(
        self,
        conn: psycopg.Connection,
        table: Table,
        month: dt.date,
        staging: sql.Identifier,
        gate: "_MonthGate",
    ) -> tuple[tuple, ...]:
        """Check the staged month (its row count already held), then swap it in as the month's
        child; its first rows."""
        gate.check_staged(conn, staging)
        conn.execute(sql.SQL("ANALYZE {}").format(staging))
        first_rows = self._preview(conn, staging, table.columns)
        child = f"{table.name}_{month:%Y_%m}"
        self._swap(conn, staging, child, gate.where, attach=(table, month))
        return first_rows

    def _create_month_staging(
        self, conn: psycopg.Connection, table: Table, staging: sql.Identifier, month: dt.date
    ) -> None:
        assert table.partitioned_by is not None
        month_column, first_day = sql.Identifier(table.partitioned_by), sql.Literal(month)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({}, CHECK ({} = {}))").format(
                staging, column_definitions(table.columns), month_column, first_day
            )
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
                staging, month_column, first_day
            )
        )

    # --- a whole small table -----------------------------------------------------------------

    def replace_table(self, table: Table, body: bytes, where: str) -> LoadStats:
        """Replace the whole table with the CSV `body` (header line first) in one transaction."""
        started = time.monotonic()
        staging = self.ident(f"{table.name}_staging")
        with self.connect() as conn, self.terminal_errors(where), conn.transaction():
            self.ensure_schema(conn)
            self.lock(conn, table.name, _WHOLE_TABLE)
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging))
            conn.execute(
                sql.SQL("CREATE TABLE {} ({}{})").format(
                    staging, column_definitions(table.columns), _primary_key(table.primary_key)
                )
            )
            rows = self._copy(conn, staging, table.columns, [body], where)
            if rows <= 0:
                raise BadSourceFileError(f"{where} has no rows")
            first_rows = self._preview(conn, staging, table.columns, sql.SQL(" ORDER BY 1"))
            self._swap(conn, staging, table.name, where)
        return LoadStats(table.name, rows, time.monotonic() - started, first_rows)

    # --- a month of a mart -------------------------------------------------------------------

    def replace_month_rows(
        self,
        table: Table,
        month_column: str,
        month: dt.date,
        insert: sql.Composed,
        params: dict,
    ) -> LoadStats:
        """Delete the month's rows and run `insert` (writing them again), in one transaction."""
        started = time.monotonic()
        target, month_id = self.ident(table.name), sql.Identifier(month_column)
        where = f"{month:%Y-%m} ({self.schema}.{table.name})"
        with self.connect() as conn, self.terminal_errors(where):
            self.ensure(conn, table)
            with conn.transaction():
                self.lock(conn, table.name, month_slice(month))
                delete = sql.SQL("DELETE FROM {} WHERE {} = %(month)s").format(target, month_id)
                conn.execute(delete, {"month": month})
                rows = conn.execute(insert, params).rowcount
                order = sql.SQL(" WHERE {} = {} ORDER BY 2, 3").format(month_id, sql.Literal(month))
                first_rows = self._preview(conn, target, table.columns, order)
        return LoadStats(table.name, rows, time.monotonic() - started, first_rows)

    # --- shared mechanics --------------------------------------------------------------------

    def _copy(
        self,
        conn: psycopg.Connection,
        staging: sql.Identifier,
        columns: Iterable[Column],
        chunks: Iterable[bytes],
        where: str,
        copy_format: CopyFormat = CSV,
    ) -> int:
        """COPY the stream into `columns`, in file order; map Postgres' refusals."""
        statement = sql.SQL("COPY {} ({}) FROM STDIN ({})").format(
            staging, column_list(tuple(columns)), copy_format.options(True, freeze=True)
        )
        try:
            with conn.cursor() as cur:
                with cur.copy(statement) as copy:
                    for chunk in chunks:
                        copy.write(chunk)
                return cur.rowcount
        except psycopg.Error as exc:
            refusal = _refusal(exc, where, LineMap(noun=copy_format.line_noun))
            if refusal is None:
                raise
            raise refusal from exc

    @staticmethod
    def _copy_statement(
        staging: sql.Identifier,
        columns: tuple[Column, ...],
        copy_format: CopyFormat,
        first_stream: bool,
    ) -> sql.Composed:
        """COPY into `columns`, in file order. No FREEZE: the staging table is committed."""
        return sql.SQL("COPY {} ({}) FROM STDIN ({})").format(
            staging, column_list(columns), copy_format.options(first_stream)
        )

    def _copy_split(
        self, first: CopyStream, joining: "_JoiningStream", blocks: Iterable[bytes], where: str
    ) -> int:
        """COPY the blocks (whole lines; a CSV's header line first) through `first` and, once it
        joins, the second stream (copy_streams.py); a refused row is named by its line in the
        file."""
        try:
            return copy_split([first], blocks, joining)
        except StreamError as exc:  # what a stream's own thread raised, in file terms
            error = exc.error
            if isinstance(error, psycopg.Error) and (refusal := _refusal(error, where, exc.lines)):
                raise refusal from error
            raise error from None

    def _preview(
        self,
        conn: psycopg.Connection,
        table: sql.Identifier,
        columns: tuple[Column, ...],
        order: sql.Composable = _NO_ORDER,
    ) -> tuple[tuple, ...]:
        query = sql.SQL("SELECT {} FROM {}{} LIMIT %s").format(column_list(columns), table, order)
        return tuple(conn.execute(query, (PREVIEW_ROWS,)).fetchall())

    def _swap(
        self,
        conn: psycopg.Connection,
        staging: sql.Identifier,
        final: str,
        where: str,
        attach: tuple[Table, dt.date] | None = None,
    ) -> None:
        """Drop the old table, rename staging into its place (and attach it as the month)."""
        timeout = f"{int(self.lock_timeout_seconds * 1000)}ms"
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (timeout,))
        parent = attach[0].name if attach else final
        held = f"{self.schema}.{final}" + (f" or {self.schema}.{parent}" if attach else "")
        try:
            if attach and self.exists(conn, final):
                # The old child first, on its own: DROP locks the parent before the child, and
                # a swap queued there behind a long reader of this month would hold every other
                # month's swap.
                lock = sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE")
                conn.execute(lock.format(self.ident(final)))
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self.ident(final)))
            conn.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(staging, sql.Identifier(final))
            )
            if attach:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                        self.ident(parent), self.ident(final), sql.Literal(attach[1])
                    )
                )
        except psycopg.errors.LockNotAvailable as exc:
            raise TransientError(
                f"{where}: another session held {held} for more than"
                f" {self.lock_timeout_seconds:g}s, so the swap gave up; the previous "
                "rows are in place; retry when long-running queries on the table have finished"
            ) from exc


def _refuse_without_room(conn: psycopg.Connection, needed_bytes: float, where: str) -> None:
    """TaxiError (not retried) when the server's disk, seen from here, cannot take the month."""
    folder = data_directory(conn) if needed_bytes > 0 else None
    short = shortfall([(folder, needed_bytes)]) if folder is not None else ""
    if short:
        raise TaxiError(
            f"{where}: not loading it: {short}; the warehouse is unchanged: free space there "
            "and materialize the month again"
        )


def _gate_rows(rows: int, expected: int, where: str) -> None:
    if rows != expected:
        raise LoadRejectedError(
            f"{where}: staged {rows:,} rows but the lake manifest records {expected:,}; the "
            "month was not replaced"
        )


def _primary_key(columns: tuple[str, ...]) -> sql.Composable:
    if not columns:
        return sql.SQL("")
    return sql.SQL(", PRIMARY KEY ({})").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )


def _describe(exc: psycopg.Error, lines: LineMap | None = None) -> str:
    """`<message> (COPY …, line N, column C: "…")`: the server's own pointer to the line, as
    a line of the file when the row came through one of several streams (`lines`)."""
    primary = exc.diag.message_primary or str(exc)
    context = (exc.diag.context or "").strip().replace("\n", "; ")
    if lines is not None:
        context = lines.in_file_terms(context)
    return f"{primary} ({context})" if context else primary


def _refusal(exc: psycopg.Error, where: str, lines: LineMap | None = None) -> TaxiError | None:
    """The error naming month, file and line for a row Postgres refused in a COPY; None for
    anything else (the caller re-raises it as it is)."""
    if isinstance(exc, psycopg.errors.DataError):
        return BadSourceFileError(
            f"{where} has a row Postgres rejects: {_describe(exc, lines)}; the previous rows "
            "are unchanged"
        )
    if isinstance(exc, psycopg.errors.IntegrityError):
        return LoadRejectedError(
            f"{where} breaks a key constraint: {_describe(exc, lines)}; the month was not replaced"
        )
    return None


class _JoiningStream:
    """A month's second COPY stream, on a connection of its own, started when one of the
    schema's load slots is free (asked every few blocks, never waited for) and holding that
    slot until its rows are committed or rolled back (the end of the `with` block)."""

    def __init__(
        self,
        conn: psycopg.Connection,
        schema: str,
        slots: int,
        statement: sql.Composed,
        copy_format: CopyFormat,
    ) -> None:
        self.conn, self.schema, self.slots, self.statement = conn, schema, slots, statement
        self.line_noun = copy_format.line_noun
        self.slot: int | None = None

    @property
    def joined(self) -> int:
        """1 once the stream has joined, else 0."""
        return int(self.slot is not None)

    def __call__(self) -> CopyStream | None:
        """The stream, if a slot is free now (once)."""
        if self.joined:
            return None
        self.slot = try_load_slot(self.conn, self.schema, self.slots)
        if self.slot is None:
            return None
        self.conn.execute("BEGIN")
        return CopyStream(self.conn, self.statement, self.line_noun)

    def commit(self) -> None:
        if self.joined:
            self.conn.execute("COMMIT")

    def __enter__(self) -> "_JoiningStream":
        return self

    def __exit__(self, *exc: object) -> None:
        """Roll back what was not committed and give the slot back."""
        if self.slot is None:
            return
        with contextlib.suppress(psycopg.Error):  # a broken connection released both already
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.conn.execute("ROLLBACK")
            release_load_slot(self.conn, self.schema, self.slot)


@dataclass(frozen=True)
class _MonthGate:
    """What a staged month must pass before its swap: the lake's row count, then the caller's
    check on the staged rows."""

    expected_rows: int
    check_staged: StagedCheck
    where: str


@contextlib.contextmanager
def _transaction_committed_in(
    conn: psycopg.Connection, turn: Callable[[], AbstractContextManager]
) -> Iterator[None]:
    """A transaction whose COMMIT happens inside `turn()`; if `turn()` refuses, it rolls back."""
    # The turn is released after the COMMIT (the ExitStack exits last), not before it.
    with contextlib.ExitStack() as turn_held, conn.transaction():
        yield
        turn_held.enter_context(turn())
