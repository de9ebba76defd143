"""The workspace's two code locations seen as one graph, as the UI and the daemon see them."""

import dagster as dg

from taxi_assets import analytics, defs

WORKSPACE = dg.Definitions(
    assets=[*(defs.assets or []), *(analytics.defs.assets or [])],
    jobs=[*(defs.jobs or []), *(analytics.defs.jobs or [])],
    schedules=defs.schedules,
    sensors=[*(defs.sensors or []), *(analytics.defs.sensors or [])],
    resources={**(defs.resources or {}), **(analytics.defs.resources or {})},
)
