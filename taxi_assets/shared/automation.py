"""Declarative automation shared by the marts and the analytics."""

import dagster as dg

from taxi_assets.mechanics.settings import number_setting

MONTHS_WHOSE_INPUTS_CHANGED = dg.AutomationCondition.eager().without(
    dg.AutomationCondition.in_latest_time_window()
)
"""Every month whose inputs changed since it was last computed, not only the latest one
(`AutomationCondition.eager()` alone looks at the latest time partition only)."""

BUILD_WHEN_MISSING = (
    dg.AutomationCondition.missing()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.in_progress()
    & ~dg.AutomationCondition.execution_failed()
).with_label("build when missing")
"""Built whenever it is missing and its inputs are in: a fresh deployment, a wiped instance.
`AutomationCondition.on_missing()` would not: it skips what is already missing when first
evaluated. A failed build is not retried in a loop."""

WHOLE_TABLE = (dg.AutomationCondition.eager() | BUILD_WHEN_MISSING).with_label(
    "eager, or build when missing"
)
"""An unpartitioned table (taxi_zones, dim_zones, the seed): rebuilt when an input changes,
built when it is missing."""


def automation_interval_seconds() -> int:
    """How often the automation sensors evaluate: $TAXI_AUTOMATION_INTERVAL_SECONDS, else 30
    (Dagster's default). Read when the code location loads."""
    return int(number_setting(None, "TAXI_AUTOMATION_INTERVAL_SECONDS", 30, whole=True))
