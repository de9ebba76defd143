"""Declarative automation shared by the marts and the analytics."""

import dagster as dg

MONTHS_WHOSE_INPUTS_CHANGED = dg.AutomationCondition.eager().without(
    dg.AutomationCondition.in_latest_time_window()
)
"""Every month whose inputs changed since it was last computed, not only the latest one
(`AutomationCondition.eager()` alone looks at the latest time partition only)."""
