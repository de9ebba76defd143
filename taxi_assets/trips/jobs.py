"""A dataset's partitioned job and its schedule, both built from the dataset's calendar."""

import dagster as dg
from dagster._core.definitions.partitions.partitioned_schedule import (
    UnresolvedPartitionedAssetScheduleDefinition,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from taxi_assets.shared.partitions import SCHEDULE_DAY_OF_MONTH, SCHEDULE_HOUR_UTC
from taxi_assets.trips.assets import DatasetAssets


def dataset_job(assets: DatasetAssets) -> UnresolvedAssetJobDefinition:
    """`<table>_job`: download one month into the lake and load it into Postgres, with checks."""
    return dg.define_asset_job(
        assets.spec.job_name,
        selection=dg.AssetSelection.assets(assets.raw, assets.warehouse),
        description=f"Download one month of {assets.spec.title.lower()} into the lake and load "
        "it into Postgres.",
    )


def monthly_schedule(
    job: UnresolvedAssetJobDefinition,
) -> UnresolvedPartitionedAssetScheduleDefinition:
    """Airflow's `0 6 2 * *`: each tick loads the month that has just ended."""
    return dg.build_schedule_from_partitioned_job(  # type: ignore[return-value]  # job is unresolved
        job, day_of_month=SCHEDULE_DAY_OF_MONTH, hour_of_day=SCHEDULE_HOUR_UTC, minute_of_hour=0
    )
