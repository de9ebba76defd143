"""The one place that assembles taxi_assets' Definitions."""

import dagster as dg

from taxi_assets.assets import raw_csv, yellow_taxi
from taxi_assets.io_manager import PostgresIOManager
from taxi_assets.jobs import yellow_taxi_job, yellow_taxi_monthly_schedule
from taxi_assets.resources import DataLake, PostgresResource, TaxiSource

warehouse = PostgresResource()

# A run's steps follow one another (raw_csv, then yellow_taxi), so child processes per step
# would buy no parallelism and cost a Python start and imports each (about 2 s here, see the
# bench). Runs stay separate processes; months run side by side as separate runs.
DEFAULT_EXECUTOR = dg.in_process_executor

defs = dg.Definitions(
    assets=[raw_csv, yellow_taxi],
    jobs=[yellow_taxi_job],
    schedules=[yellow_taxi_monthly_schedule],
    executor=DEFAULT_EXECUTOR,
    resources={
        "source": TaxiSource(),
        "lake": DataLake(),
        "warehouse": PostgresIOManager(postgres=warehouse),
    },
)
