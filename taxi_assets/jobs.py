"""The partitioned job and its schedule, both built from the one monthly calendar."""

import dagster as dg

from taxi_assets.assets import raw_csv, yellow_taxi
from taxi_assets.partitions import SCHEDULE_DAY_OF_MONTH, SCHEDULE_HOUR_UTC

yellow_taxi_job = dg.define_asset_job(
    "yellow_taxi_job",
    selection=dg.AssetSelection.assets(raw_csv, yellow_taxi),
    description="Download one month into the lake and load it into Postgres.",
)

# Airflow's `0 6 2 * *`: each tick loads the month that has just ended.
yellow_taxi_monthly_schedule = dg.build_schedule_from_partitioned_job(
    yellow_taxi_job,
    day_of_month=SCHEDULE_DAY_OF_MONTH,
    hour_of_day=SCHEDULE_HOUR_UTC,
    minute_of_hour=0,
)
