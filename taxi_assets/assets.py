"""The pipeline's story: a month's file lands in the lake, then becomes a table in Postgres."""

import time
from collections.abc import Iterator

import dagster as dg

from taxi_assets.lake import LakeFile
from taxi_assets.metadata import lake_file_metadata, month_materialization
from taxi_assets.partitions import month_partitions, monthly_freshness, parse_month
from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.schema import dagster_column_schema

WAREHOUSE_POOL = "taxi_warehouse"

# One run can carry a range of months (`asset materialize --partition-range`); each month
# inside it is still its own verified download and its own atomic load.
RANGE_IN_ONE_RUN = dg.BackfillPolicy.single_run()


@dg.asset(
    partitions_def=month_partitions,
    backfill_policy=RANGE_IN_ONE_RUN,
    group_name="raw",
    kinds={"csv"},
)
def raw_csv(
    context: dg.AssetExecutionContext, source: TaxiSource, lake: DataLake
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """The month's yellow-taxi trip file from the mirror, verified and kept in the data lake."""
    ranged = len(context.partition_keys) > 1
    for key in context.partition_keys:
        started = time.monotonic()
        lake_file, reused = source.fetch_into(lake.lake(), parse_month(key), context.log)
        metadata = lake_file_metadata(lake_file, reused, time.monotonic() - started)
        context.add_asset_metadata(metadata, partition_key=key)
        if ranged:
            yield month_materialization(context.asset_key, key, metadata)
    yield dg.MaterializeResult()


@dg.asset(
    partitions_def=month_partitions,
    backfill_policy=RANGE_IN_ONE_RUN,
    deps=[raw_csv],
    io_manager_key="warehouse",
    group_name="warehouse",
    kinds={"postgres"},
    pool=WAREHOUSE_POOL,
    freshness_policy=monthly_freshness(),
    metadata={
        "dagster/column_schema": dagster_column_schema(),
        "dagster/table_name": "yellow_taxi",
    },
)
def yellow_taxi(context: dg.AssetExecutionContext, lake: DataLake) -> list[LakeFile]:
    """Yellow-taxi trips in Postgres: table yellow_taxi, child table yellow_taxi_YYYY_MM a month."""
    return [lake.lake().recorded(parse_month(key)) for key in context.partition_keys]
