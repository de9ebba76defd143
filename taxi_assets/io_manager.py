"""The Postgres IO manager: writes months of `yellow_taxi` atomically, reads them back typed.

Shaped like Dagster's DB IO manager (a ConfigurableIOManager shell over a client and a handler
per in-memory type), except that every month's write is one transaction (see warehouse.py).
"""

import hashlib
from collections.abc import Iterator

import dagster as dg
import pandas as pd
import psycopg
from dagster._core.events import DagsterEvent
from psycopg import sql
from psycopg.types.numeric import FloatLoader
from pydantic import Field

from taxi_assets.credentials import redact
from taxi_assets.errors import BadSourceFileError, LoadRejectedError, TaxiError, TransientError
from taxi_assets.gzip_csv import inflate_chunks
from taxi_assets.lake import LakeFile, reject
from taxi_assets.metadata import load_metadata, month_materialization
from taxi_assets.partitions import parse_month
from taxi_assets.progress import Progress, counting_lines
from taxi_assets.resources import PostgresResource, _retrying
from taxi_assets.schema import MONTH_COLUMN, WAREHOUSE_COLUMNS, pandas_dtypes
from taxi_assets.warehouse import PARENT_TABLE, LoadStats, replace_month


class PostgresIOManager(dg.ConfigurableIOManager):
    """Stores lake files as monthly child tables of `yellow_taxi`; loads months as DataFrames."""

    postgres: dg.ResourceDependency[PostgresResource]
    lock_timeout_seconds: float = 10.0
    load_attempts: int = Field(
        default=3,
        description="Attempts per month when the warehouse goes away or the swap's lock times "
        "out (each attempt reloads the whole month in one transaction).",
    )
    first_backoff_seconds: float = Field(default=1.0, description="Scale of the first backoff.")

    def handle_output(  # type: ignore[override]  # Dagster also accepts a generator here
        self, context: dg.OutputContext, obj: list[LakeFile]
    ) -> Iterator[DagsterEvent]:
        if not (isinstance(obj, list) and all(isinstance(f, LakeFile) for f in obj)):
            raise TypeError(
                f"{context.asset_key.to_user_string()} returned {type(obj).__name__}; the "
                "Postgres IO manager stores a list of LakeFile (one per partition)"
            )
        _check_months(context, obj)
        for lake_file in obj:
            metadata = self._load(context, lake_file)
            context.step_context.add_asset_metadata(
                metadata, asset_key=context.asset_key, partition_key=lake_file.month
            )
            if len(obj) > 1:
                # Yielded (not context.log_event, which waits for the end) so it is recorded now.
                event = month_materialization(context.asset_key, lake_file.month, metadata)
                yield DagsterEvent.asset_materialization(context.step_context, event)

    def _load(self, context: dg.OutputContext, lake_file: LakeFile) -> dict:
        """Load one month, retrying transient failures with bounded backoff and jitter.

        A file the warehouse refuses is set aside in the lake, so the next run downloads the
        month again instead of reusing it (the mirror may have corrected it).
        """
        transient = (TransientError, psycopg.OperationalError)
        retrying = _retrying(self.load_attempts, self.first_backoff_seconds, 30.0, transient)
        try:
            for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number > 1:
                        context.log.warning(f"{lake_file.month}: load attempt {number}")
                    return self._load_once(context, lake_file)
        except (BadSourceFileError, LoadRejectedError) as exc:
            aside = reject(lake_file)
            raise type(exc)(
                f"{exc}. The lake file was set aside as {aside.name}: the next run of raw_csv "
                "downloads the month again"
            ) from None
        except transient as exc:
            reason = redact(str(exc), self.postgres.target_url())
            if not isinstance(exc, TransientError):  # ours already name the month and file
                reason = f"{lake_file.where}: {reason}"
            raise TransientError(
                f"{reason}; gave up after {self.load_attempts} attempts; the "
                "month's previous rows are unchanged: materialize it again once the warehouse "
                f"at {self.postgres.display_url} is reachable and not locked"
            ) from None
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _load_once(self, context: dg.OutputContext, lake_file: LakeFile) -> dict:
        month = parse_month(lake_file.month)
        sha = hashlib.sha256()
        progress = Progress(context.log, f"{lake_file.month} load")
        chunks = counting_lines(inflate_chunks(lake_file.path, lake_file.where, sha), progress)
        schema = self.postgres.warehouse_schema
        with self.postgres.connect() as conn:
            stats: LoadStats = replace_month(
                conn,
                schema,
                month,
                _checked(chunks, sha, lake_file),
                lake_file.rows,
                lake_file.where,
                self.lock_timeout_seconds,
            )
        context.log.info(
            f"{lake_file.month}: {stats.rows:,} rows into {schema}.{stats.table} in "
            f"{stats.seconds:.1f}s ({stats.rows_per_second:,.0f} rows/s)"
        )
        return load_metadata(stats, schema, lake_file)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        months = [parse_month(k) for k in context.asset_partition_keys]
        columns = sql.SQL(", ").join(sql.Identifier(c.name) for c in WAREHOUSE_COLUMNS)
        query = sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%s)").format(
            columns,
            sql.Identifier(self.postgres.warehouse_schema, PARENT_TABLE),
            sql.Identifier(MONTH_COLUMN.name),
        )
        with self.postgres.connect() as conn, conn.cursor() as cur:
            cur.adapters.register_loader("numeric", FloatLoader)
            cur.execute(query, (months,))
            frame = pd.DataFrame(cur.fetchall(), columns=[c.name for c in WAREHOUSE_COLUMNS])
        return frame.astype(pandas_dtypes())


def _check_months(context: dg.OutputContext, lake_files: list[LakeFile]) -> None:
    """The months to write are the run's partition keys, whatever the files claim to be."""
    claimed = sorted(f.month for f in lake_files)
    if claimed != sorted(context.asset_partition_keys):
        raise TaxiError(
            f"the lake files {[str(f.path) for f in lake_files]} claim the months {claimed}, "
            f"but the run writes {sorted(context.asset_partition_keys)}; nothing was loaded"
        )


def _checked(chunks, sha: "hashlib._Hash", lake_file: LakeFile):
    """Pass chunks through; after the last, fail if the file changed since it was verified."""
    yield from chunks
    if sha.hexdigest() != lake_file.sha256:
        raise BadSourceFileError(
            f"{lake_file.where} no longer matches its manifest sha256; materialize raw_csv "
            "for this month again"
        )
