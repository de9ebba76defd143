"""The one place that assembles the load code location's Definitions (`taxi_assets`).

The analytics (the course's dbt models) are a second code location, `taxi_assets.analytics`:
nothing here imports dbt, so a load's process never pays for it.
"""

from taxi_assets.shared.warning_filters import silence_understood_warnings

silence_understood_warnings()  # before the definitions below trigger them

import dagster as dg  # noqa: E402

from taxi_assets.assets import LOAD_ASSETS, TRIPS  # noqa: E402
from taxi_assets.marts.assets import marts_automation_sensor  # noqa: E402
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource  # noqa: E402
from taxi_assets.shared.executor import default_executor  # noqa: E402

# A run's steps follow one another (raw_csv, then yellow_taxi with its checks), so child
# processes per step would buy no parallelism and cost a Python start and imports each.
# Runs stay separate processes; months run side by side within a ranged step.
DEFAULT_EXECUTOR = dg.in_process_executor

defs = dg.Definitions(
    # Each asset links to the line that defines it (the UI's "View code").
    assets=dg.with_source_code_references(LOAD_ASSETS),
    jobs=[trips.job for trips in TRIPS.values()],
    schedules=[trips.schedule for trips in TRIPS.values()],
    sensors=[marts_automation_sensor, *(trips.sensor for trips in TRIPS.values())],
    # TAXI_EXECUTOR=celery: steps go to Celery workers instead (shared/executor.py).
    executor=default_executor() or DEFAULT_EXECUTOR,
    resources={"source": TaxiSource(), "lake": DataLake(), "warehouse": WarehouseResource()},
)
