"""What launched a run, as its tags say (docs/ui.md).

Dagster tags the runs it launches itself: the UI's buttons add `dagster/from_ui`, a schedule's
ticks `dagster/schedule_name`, a sensor's `dagster/sensor_name`, a backfill's runs
`dagster/backfill`. The `dagster` CLI adds nothing, so our own commands that start it pass
`taxi/launched_by` (`dagster job execute --tags`; `asset materialize` takes no tags).
"""

from collections.abc import Mapping

LAUNCHED_BY_TAG = "taxi/launched_by"
# Dagster's own tags, most specific first: a backfill's runs started from the UI carry both.
_DAGSTER_LAUNCH_TAGS = (
    ("dagster/backfill", "backfill"),
    ("dagster/schedule_name", "schedule"),
    ("dagster/sensor_name", "sensor"),
    ("dagster/from_ui", "ui"),
)


def range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make one run carry the months first..last (a single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def launcher_of(tags: Mapping[str, str]) -> str:
    """`ui`, `schedule`, `sensor`, `backfill`, what our command said, else `cli` (a run the
    `dagster` CLI or Python started in its own process records no launcher)."""
    found = [name for tag, name in _DAGSTER_LAUNCH_TAGS if tag in tags]
    return tags.get(LAUNCHED_BY_TAG) or (found[0] if found else "cli")
