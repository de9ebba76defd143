"""A dataset's partitioned job and its schedule, both built from the dataset's calendar."""

import datetime as dt

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from taxi_assets.mechanics.dataset_spec import MIRROR, DatasetSpec
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.months import previous_month
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
    spec: DatasetSpec, job: UnresolvedAssetJobDefinition, partitions: dg.PartitionsDefinition
) -> dg.ScheduleDefinition:
    """Airflow's `0 6 2 * *`: each tick loads the month that has just ended, when it is one of
    the mirror's months. The TLC publishes a month 47-62 days after it ends, so for its months
    a fixed tick finds nothing: the dataset's TLC sensor loads them as they appear."""

    @dg.schedule(
        name=f"{spec.job_name}_schedule",
        cron_schedule=f"0 {SCHEDULE_HOUR_UTC} {SCHEDULE_DAY_OF_MONTH} * *",
        execution_timezone="UTC",
        job=job,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="The lesson's `0 6 2 * *`: loads the month that has just ended from the "
        f"mirror ({_mirror_span(spec)}); the TLC's months come through {spec.table}_tlc_sensor.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        at = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        month = previous_month(at.date())
        key = f"{month:%Y-%m}"
        if not _from_mirror(spec, month):
            return dg.SkipReason(
                f"{key} is not one of the mirror's months ({_mirror_span(spec)}): "
                f"{spec.table}_tlc_sensor loads it once the TLC publishes it"
            )
        if not partitions.has_partition_key(key):
            return dg.SkipReason(f"{key} is outside {spec.table}'s partitions")
        return dg.RunRequest(run_key=key, partition_key=key)

    return _schedule


def _from_mirror(spec: DatasetSpec, month: dt.date) -> bool:
    """Whether the dataset takes `month` from the mirror (`month_file` decides; a month before
    the dataset's layout, which it refuses, is not the mirror's either)."""
    try:
        return spec.month_file(month).source == MIRROR
    except TaxiError:
        return False


def _mirror_span(spec: DatasetSpec) -> str:
    return f"{spec.mirror_months[0]}..{spec.mirror_months[1]}" if spec.mirror_months else "none"
