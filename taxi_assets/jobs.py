"""One partitioned job per dataset and its schedule, both built from the dataset's calendar."""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from taxi_assets.asset_factory import DatasetAssets
from taxi_assets.assets import DATASET_ASSETS
from taxi_assets.partitions import SCHEDULE_DAY_OF_MONTH, SCHEDULE_HOUR_UTC


def dataset_job(assets: DatasetAssets) -> UnresolvedAssetJobDefinition:
    """`<table>_job`: download one month into the lake and load it into Postgres, with checks."""
    return dg.define_asset_job(
        assets.spec.job_name,
        selection=dg.AssetSelection.assets(assets.raw, assets.warehouse),
        description=f"Download one month of {assets.spec.title.lower()} into the lake and load "
        "it into Postgres.",
    )


def monthly_schedule(job: UnresolvedAssetJobDefinition):  # an unresolved schedule
    """Airflow's `0 6 2 * *`: each tick loads the month that has just ended."""
    return dg.build_schedule_from_partitioned_job(
        job, day_of_month=SCHEDULE_DAY_OF_MONTH, hour_of_day=SCHEDULE_HOUR_UTC, minute_of_hour=0
    )


JOBS = [dataset_job(assets) for assets in DATASET_ASSETS]
SCHEDULES = [monthly_schedule(job) for job in JOBS]
yellow_taxi_job, green_taxi_job, fhv_taxi_job = JOBS
yellow_taxi_monthly_schedule = SCHEDULES[0]
