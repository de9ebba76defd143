"""The one place that assembles taxi_assets' Definitions."""

import dagster as dg

from taxi_assets.assets import DATASET_ASSETS
from taxi_assets.dbt_assets import (
    analytics_automation_sensor,
    analytics_monthly_job,
    dbt_cli_resource,
    taxi_dbt_dimensions,
    taxi_dbt_monthly,
)
from taxi_assets.executor import default_executor
from taxi_assets.jobs import JOBS, SCHEDULES
from taxi_assets.marts import daily_borough_trips, marts_automation_sensor
from taxi_assets.resources import DataLake, PostgresResource, TaxiSource, WarehouseResource
from taxi_assets.zones import taxi_zones

postgres = PostgresResource()

# A run's steps follow one another (raw_csv, then yellow_taxi with its checks), so child
# processes per step would buy no parallelism and cost a Python start and imports each (about
# 2 s here, see the bench). Runs stay separate processes; months run side by side as separate
# runs.
DEFAULT_EXECUTOR = dg.in_process_executor

defs = dg.Definitions(
    assets=[
        *(asset for dataset in DATASET_ASSETS for asset in (dataset.raw, dataset.warehouse)),
        taxi_zones,
        daily_borough_trips,
        taxi_dbt_dimensions,
        taxi_dbt_monthly,
    ],
    jobs=[*JOBS, analytics_monthly_job],
    schedules=SCHEDULES,
    sensors=[marts_automation_sensor, analytics_automation_sensor],
    # TAXI_EXECUTOR=celery: steps go to Celery workers instead (taxi_assets/executor.py).
    executor=default_executor() or DEFAULT_EXECUTOR,
    resources={
        "source": TaxiSource(),
        "lake": DataLake(),
        "warehouse": WarehouseResource(postgres=postgres),
        "postgres": postgres,
        "dbt": dbt_cli_resource(),
    },
)
