"""Runs whose process is gone, marked failed instead of looking alive for ever.

A run records its own end; a `dagster` CLI run killed with SIGKILL (or by a crash) never does,
and stays STARTED. Run monitoring cannot tell either: the default run launcher has no health
check, so the daemon would only cancel it after `max_runtime_seconds`, and only where a daemon
runs (the course command has none). Each STARTED run's process is the one its latest engine
event names (`pid`, as Dagster's executors record it); when that process no longer exists,
the run is marked FAILURE with the reason in its log.

Only on a SQLite instance (the local DAGSTER_HOME): every run it holds ran on this machine, so
its pid means something here. A shared instance (Postgres storage, runs on other hosts) is left
to the daemon's run monitoring.
"""

import dagster as dg
from dagster._core.storage.runs import SqliteRunStorage

from taxi_assets.mechanics.processes import process_alive


def fail_runs_whose_process_died(instance: dg.DagsterInstance) -> list[str]:
    """Mark STARTED runs whose process is gone as FAILURE; one line a run marked."""
    if not isinstance(instance.run_storage, SqliteRunStorage):
        return []
    marked = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        run = record.dagster_run
        pid = recorded_pid(instance, run.run_id)
        if pid is None or process_alive(pid) or _ended_meanwhile(instance, run.run_id):
            continue
        instance.report_run_failed(
            run,
            f"The run's process (pid {pid}) is gone: it was killed or crashed before it could "
            "record its end. Marked failed by the next course start; materialize the months "
            "again.",
        )
        marked.append(f"run {run.run_id} ({_what(run)}) marked FAILURE: its process {pid} is gone")
    return marked


def recorded_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid the run's latest engine event names: the process executing its steps."""
    events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
    for entry in reversed(events):
        event = entry.dagster_event
        data = event.engine_event_data if event else None
        pid = data.metadata.get("pid") if data else None
        if pid is not None and str(pid.value).isdigit():
            return int(str(pid.value))
    return None


def _ended_meanwhile(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Whether the run recorded its end since it was listed (its process exits right after)."""
    run = instance.get_run_by_id(run_id)
    return run is None or run.status != dg.DagsterRunStatus.STARTED


def _what(run: dg.DagsterRun) -> str:
    tags = run.tags
    first = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    last = tags.get("dagster/asset_partition_range_end") or first
    return f"{run.job_name} {first}..{last}" if first else run.job_name
