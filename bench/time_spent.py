"""Where a load's time went, read back from the Dagster instance it ran in: each run's wall time,
each step's duration, and the months' own download and load seconds from their metadata."""

from collections import defaultdict
from pathlib import Path

import dagster as dg

_MONTH_FIGURES = ("download_seconds", "verify_seconds", "load_seconds")


def where_the_time_went(home: Path) -> dict:
    """Seconds per run, per step (summed over runs), and the months' summed figures."""
    steps: dict[str, float] = defaultdict(float)
    months: dict[tuple[str, str], float] = {}  # a ranged run records a month twice: keep one
    runs: list[float] = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.get_run_records():
            events = instance.all_logs(record.dagster_run.run_id)
            stamps = [e.timestamp for e in events]
            runs.append(round(max(stamps) - min(stamps), 2))
            for event in events:
                _add_event(event, steps, months)
    summed: dict[str, float] = defaultdict(float)
    for (figure, _), seconds in months.items():
        summed[figure] += seconds
    return {
        "runs_seconds": runs,
        "steps_seconds": {k: round(v, 2) for k, v in steps.items()},
        "months_summed_seconds": {k: round(v, 2) for k, v in summed.items()},
    }


def _add_event(event: dg.EventLogEntry, steps: dict, months: dict) -> None:
    dagster_event = event.dagster_event
    if dagster_event is None:
        return
    if dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS:
        steps[dagster_event.step_key or "?"] += dagster_event.event_specific_data.duration_ms / 1000  # type: ignore[union-attr]
    materialization = event.asset_materialization
    if materialization is not None and materialization.partition:
        for name in _MONTH_FIGURES:
            if name in materialization.metadata:
                key = (
                    f"{materialization.asset_key.to_user_string()}.{name}",
                    materialization.partition,
                )
                months[key] = float(materialization.metadata[name].value)  # type: ignore[arg-type]
