"""A dataset's two assets, built from its spec: the month's file in the lake, then its table.

    <raw_asset>  the verified file in the lake (`raw_csv` for yellow, `green_raw_csv`, ...)
    <table>      the month's child table in Postgres, with its checks (`yellow_taxi`, ...)

A run may carry a range of months (`--partition-range`, single-run backfills); each month is
still its own verified download and its own atomic load. The warehouse asset records each month
the moment it commits, exactly once: a one-month run returns its MaterializeResult; a ranged
run yields one AssetMaterialization per month as it commits and no output (an output would
make Dagster record every month a second time at the end), so assets downstream of it in the
same ranged run are skipped and follow through declarative automation instead.
"""

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from taxi_assets.mechanics.copy_format import CSV, TEXT
from taxi_assets.mechanics.dataset_spec import TLC, DatasetSpec
from taxi_assets.mechanics.disk_space import HEADROOM
from taxi_assets.mechanics.duplicates import DUPLICATE_ROWS, DuplicateLines, counting_duplicates
from taxi_assets.mechanics.errors import BadSourceFileError, LoadRejectedError
from taxi_assets.mechanics.lake import Lake, LakeFile, reject
from taxi_assets.mechanics.month_runner import Lane, run_months
from taxi_assets.mechanics.months import parse_month
from taxi_assets.mechanics.progress import Progress, counting_lines
from taxi_assets.mechanics.quality_sql import MonthCounts
from taxi_assets.mechanics.writer import WarehouseWriter
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from taxi_assets.shared.metadata import dagster_column_schema, lake_file_metadata, load_metadata
from taxi_assets.shared.ownership import OWNERS
from taxi_assets.shared.partitions import partitions_for, publication_freshness
from taxi_assets.shared.pools import WAREHOUSE_POOL
from taxi_assets.trips.checks import (
    Outcome,
    StagedMonthGate,
    check_specs,
    evaluate,
    evaluations,
)

if TYPE_CHECKING:  # imported at run time only when a Parquet month loads (pyarrow)
    from taxi_assets.mechanics.arrow_counts import ArrowCounts

# Months a raw step fetches and verifies at once: inflating and hashing release the GIL, so two
# threads keep both cores of a small machine busy; the mirror sees at most two requests per run.
DOWNLOADS_AT_ONCE = 2

# One run can carry a range of months (`asset materialize --partition-range`).
RANGE_IN_ONE_RUN = dg.BackfillPolicy.single_run()

Events = Iterator[
    dg.MaterializeResult | dg.AssetMaterialization | dg.AssetCheckEvaluation | dg.Output
]


class RawFetchConfig(dg.Config):
    """How the raw step treats a month the lake already holds."""

    refetch: bool = False
    """Download the month again even when the lake holds a verified copy (the TLC sensor sets
    it for a month whose file the TLC re-published)."""


def refetch_config(spec: DatasetSpec) -> dict:
    """Run config for the dataset's job that downloads its months afresh."""
    return {"ops": {spec.raw_asset: {"config": {"refetch": True}}}}


@dataclass(frozen=True)
class DatasetAssets:
    """The raw and the warehouse asset of one dataset."""

    spec: DatasetSpec
    raw: dg.AssetsDefinition
    warehouse: dg.AssetsDefinition


def dataset_assets(spec: DatasetSpec) -> DatasetAssets:
    """Build both assets of `spec`."""
    partitions = partitions_for(
        spec.first_month, spec.last_month, spec.earliest_month, spec.older_layout
    )
    raw = raw_asset(spec, partitions)
    return DatasetAssets(spec, raw, warehouse_asset(spec, raw, partitions))


def raw_asset(spec: DatasetSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.raw_asset,
        partitions_def=partitions,
        backfill_policy=RANGE_IN_ONE_RUN,
        group_name="raw",
        owners=OWNERS,
        kinds={"csv", "parquet"} if spec.mirror_months else {"parquet"},
        description=f"The month's {spec.title.lower()} file (the mirror's CSV, else the TLC's "
        "Parquet), verified and kept in the data lake.",
    )
    def _raw(
        context: dg.AssetExecutionContext,
        config: RawFetchConfig,
        source: TaxiSource,
        lake: DataLake,
    ) -> dg.MaterializeResult:
        months_lake = lake.lake()

        def fetch(key: str, lane: Lane) -> dict:
            return fetch_month(
                spec, key, source, months_lake, lane.log, lane.cancelled, config.refetch
            )

        keys = context.partition_keys
        for key, metadata in run_months(keys, fetch, DOWNLOADS_AT_ONCE, context.log):
            context.add_asset_metadata(metadata, partition_key=key)
        return dg.MaterializeResult()  # one record per month, each with its own metadata

    return _raw


def fetch_month(
    spec: DatasetSpec,
    key: str,
    source: TaxiSource,
    lake: Lake,
    log: logging.Logger,
    stop: threading.Event | None = None,
    refetch: bool = False,
) -> dict:
    """Ask the lake for a verified copy (unless `refetch`); else fetch the file and hand its
    stream to the lake (which gives up, leaving only a temporary, once `stop` is set: the run
    was interrupted)."""
    month, started = parse_month(key), time.monotonic()
    lake_file = None if refetch else lake.verified(spec, month)
    reused = lake_file is not None
    if lake_file is not None:
        log.info(f"{key}: reusing verified {lake_file.path}")
    else:
        month_file = lake.month_file(spec, month)
        url = source.url_of(month_file)
        progress = Progress(log, f"{key} download")

        def report(done_bytes: int) -> None:
            if stop is not None and stop.is_set():
                raise InterruptedError(f"{key}: the run was interrupted during the download")
            progress.update(done_bytes)

        lake_file = source.fetch(
            url,
            key,
            lambda download: lake.store(spec, month, url, download, report, download.version),
            log,
            tlc=month_file.parquet,
        )
    return lake_file_metadata(lake_file, reused, time.monotonic() - started)


def warehouse_asset(
    spec: DatasetSpec, raw: dg.AssetsDefinition, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    key = dg.AssetKey(spec.table)

    @dg.multi_asset(
        name=spec.table,
        specs=[
            dg.AssetSpec(
                key,
                deps=[raw],
                group_name="warehouse",
                owners=OWNERS,
                kinds={"postgres"},
                freshness_policy=publication_freshness(),
                description=f"{spec.title} in Postgres: table {spec.table}, child table "
                f"{spec.table}_YYYY_MM a month.",
                metadata={
                    "dagster/column_schema": dagster_column_schema(spec.warehouse_columns),
                    "dagster/table_name": spec.table,
                },
            )
        ],
        check_specs=check_specs(spec, key, partitions),
        can_subset=True,  # the UI's "execute checks" runs a month's checks without reloading it
        partitions_def=partitions,
        backfill_policy=RANGE_IN_ONE_RUN,
        pool=WAREHOUSE_POOL,
    )
    def _warehouse(
        context: dg.AssetExecutionContext, lake: DataLake, warehouse: WarehouseResource
    ) -> Events:
        writer, months_lake = warehouse.writer(), lake.lake()
        keys, loading = context.partition_keys, key in context.selected_asset_keys
        selected = {k.name for k in context.selected_asset_check_keys}

        def load_and_check(month_key: str, lane: Lane) -> tuple[dict | None, list[Outcome]]:
            """In a thread of its own: the month's load (if selected), then its checks' SQL."""
            metadata, staged = None, None
            if loading:
                metadata, staged = load_month(spec, writer, months_lake, month_key, lane)
            duplicates = metadata[DUPLICATE_ROWS] if metadata else None
            with writer.connect() as conn, lane.cancellable(conn):
                month = parse_month(month_key)
                outcomes = evaluate(
                    conn, writer.schema, spec, month, months_lake, selected, duplicates, staged
                )
                return metadata, list(outcomes)

        # Up to `load_slots` months side by side; each is recorded here, in the step's thread,
        # the moment it commits (month_runner.py).
        for month_key, (metadata, outcomes) in run_months(
            keys, load_and_check, writer.load_slots, context.log
        ):
            if metadata is not None and len(keys) == 1:
                yield dg.MaterializeResult(asset_key=key, metadata=metadata)
            elif metadata is not None:
                yield dg.AssetMaterialization(key, partition=month_key, metadata=metadata)
            yield from evaluations(context.instance, key, month_key, outcomes)
        if loading and months_lake.keep_months:
            loaded = context.instance.get_materialized_partitions(key) | set(keys)
            removed = months_lake.prune(spec, loaded)
            context.log.info(
                f"the lake keeps the newest {months_lake.keep_months} months of {spec.name}: "
                f"removed {', '.join(p.name for p in removed) if removed else 'nothing'}"
            )
        for check_key in context.selected_asset_check_keys:  # lets downstream steps start
            yield dg.Output(
                None, output_name=context.assets_def.get_output_name_for_asset_check_key(check_key)
            )

    return _warehouse


def load_month(
    spec: DatasetSpec, writer: WarehouseWriter, lake: Lake, key: str, lane: Lane
) -> tuple[dict, MonthCounts | None]:
    """Replace the month's child table with the lake file, streamed; its metadata, with the
    duplicate rows counted on the way (duplicates.py: a CSV month's lines, a Parquet month's
    rows hashed from its Arrow batches), and the checks' counts of the rows swapped in, taken
    by the staged gate's scan (a Parquet month's from its batches: arrow_counts.py). A month the
    warehouse's disk (when it is on this machine) cannot hold is refused before anything is
    written."""
    month, log = parse_month(key), lane.log
    lake_file: LakeFile = lake.recorded(spec, month)
    parquet = lake_file.source == TLC
    copy_format = TEXT if parquet else CSV
    counters: list[DuplicateLines] = []
    arrow_counts: list[ArrowCounts] = []  # a Parquet month's checks' counts, one per attempt
    gate = StagedMonthGate(
        spec, month, lake_file.where, lambda: arrow_counts[-1].counts() if arrow_counts else None
    )

    def copy_chunks() -> Iterator[bytes]:  # called afresh for every attempt
        counters.append(DuplicateLines())
        progress = Progress(log, f"{key} load")
        if not parquet:
            lines = lake.copy_rows(spec, lake_file)
            counted = counting_lines(lines, progress, header=copy_format.header)
            return counting_duplicates(counted, counters[-1])
        from taxi_assets.mechanics.arrow_counts import ArrowCounts  # pyarrow: Parquet only

        arrow_counts.append(ArrowCounts(spec, month, counters[-1]))
        rows = lake.copy_rows(spec, lake_file, arrow_counts[-1].add)
        return counting_lines(rows, progress, header=copy_format.header)

    try:
        stats = writer.replace_month(
            spec.parent_table,
            month,
            copy_chunks,
            lake_file.rows,
            lake_file.where,
            log,
            lane,
            gate,
            spec.parquet_columns if parquet else None,
            lake_file.rows * spec.table_bytes_per_row * HEADROOM,
            copy_format,
        )
        duplicates = counters[-1].extra_copies()
    except (BadSourceFileError, LoadRejectedError) as exc:  # the mirror may have corrected it
        aside = reject(lake_file)
        raise type(exc)(
            f"{exc}. The lake file was set aside as {aside.name}: the next run of "
            f"{spec.raw_asset} downloads the month again"
        ) from None
    finally:
        for counter in counters:
            counter.close()
    log.info(
        f"{key}: {stats.rows:,} rows into {writer.schema}.{stats.table} in "
        f"{stats.seconds:.1f}s ({stats.rows_per_second:,.0f} rows/s)"
    )
    metadata = {**load_metadata(spec, stats, writer.schema, lake_file), DUPLICATE_ROWS: duplicates}
    return metadata, gate.counts
