"""The analytics code location's Definitions (`taxi_assets.analytics`): the course's dbt models.

A code location of its own so that no load imports dbt. Its sources are the load location's
assets by key (`yellow_taxi`, `green_taxi`, `fhv_taxi`, `taxi_zones`): the UI draws the lineage
across the two, and the automation sensor here reacts to loads there.
"""

from taxi_assets.shared.warning_filters import silence_understood_warnings

silence_understood_warnings()

import dagster as dg  # noqa: E402

from taxi_assets.analytics.project import TAXI_DBT, prepare_if_missing  # noqa: E402

# The manifest the dbt assets below are built from: `dagster dev` parses the project when it
# starts; elsewhere `make install` and the image did, and only a checkout where neither ran
# (`pip install -e .` alone) has none yet and parses it here, once.
TAXI_DBT.prepare_if_dev()
prepare_if_missing()

from taxi_assets.analytics.assets import (  # noqa: E402
    analytics_automation_sensor,
    analytics_monthly_job,
    dbt_cli_resource,
    taxi_dbt_dimensions,
    taxi_dbt_monthly,
)
from taxi_assets.resources import WarehouseResource  # noqa: E402

defs = dg.Definitions(
    assets=[taxi_dbt_dimensions, taxi_dbt_monthly],
    jobs=[analytics_monthly_job],
    sensors=[analytics_automation_sensor],
    executor=dg.in_process_executor,
    resources={"dbt": dbt_cli_resource(), "warehouse": WarehouseResource()},
)
