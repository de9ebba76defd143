"""The one place that assembles taxi_assets' Definitions."""

import dagster as dg

from taxi_assets.assets import raw_csv, yellow_taxi
from taxi_assets.checks import yellow_taxi_checks
from taxi_assets.dbt_assets import (
    analytics_automation_sensor,
    analytics_monthly_job,
    dbt_cli_resource,
    taxi_dbt_dimensions,
    taxi_dbt_monthly,
)
from taxi_assets.executor import default_executor
from taxi_assets.io_manager import PostgresIOManager
from taxi_assets.jobs import yellow_taxi_job, yellow_taxi_monthly_schedule
from taxi_assets.marts import daily_borough_trips, marts_automation_sensor
from taxi_assets.resources import DataLake, PostgresResource, TaxiSource
from taxi_assets.zones import taxi_zones

warehouse = PostgresResource()

# A run's steps follow one another (raw_csv, yellow_taxi, its checks), so child processes per step
# would buy no parallelism and cost a Python start and imports each (about 2 s here, see the
# bench). Runs stay separate processes; months run side by side as separate runs.
DEFAULT_EXECUTOR = dg.in_process_executor

defs = dg.Definitions(
    assets=[
        raw_csv,
        yellow_taxi,
        taxi_zones,
        daily_borough_trips,
        taxi_dbt_dimensions,
        taxi_dbt_monthly,
    ],
    asset_checks=[yellow_taxi_checks],
    jobs=[yellow_taxi_job, analytics_monthly_job],
    schedules=[yellow_taxi_monthly_schedule],
    sensors=[marts_automation_sensor, analytics_automation_sensor],
    # TAXI_EXECUTOR=celery: steps go to Celery workers instead (taxi_assets/executor.py).
    executor=default_executor() or DEFAULT_EXECUTOR,
    resources={
        "source": TaxiSource(),
        "lake": DataLake(),
        "warehouse": PostgresIOManager(postgres=warehouse),
        "postgres": warehouse,
        "dbt": dbt_cli_resource(),
    },
)
