"""Faults of the course command (`python -m taxi_assets.course`): months it cannot load, and
the course process killed while its `dagster` children load (docs/failure-modes.md)."""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import psutil
import psycopg
import pytest

from tests.faults.processes import advisory_waiters_behind, kill_group, sessions_of, wait_for
from tests.support.fault_month import MONTH
from tests.support.postgres import TEST_PG_URL, tables_like
from tests.support.trips import GREEN_ASSETS
from tests.test_course import GREEN_ROWS, course, runs

pytestmark = pytest.mark.cli
GREEN_SPAN = f"2019-10..2019-11={GREEN_ROWS}"
# The last partition moves with the calendar (the latest month the TLC can have published).
LAST_MONTH = GREEN_ASSETS.warehouse.partitions_def.get_last_partition_key()


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "load"])
def test_months_before_the_first_partition_are_refused_up_front(
    cli_env: dict, dry_run: bool
) -> None:
    done = course(cli_env, "--part", "green:2018-11..2018-12=100", *(["--dry-run"] * dry_run))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "months to load" not in done.stdout
    assert done.stderr.strip().splitlines() == [
        "refusing to start: green 2018-11..2018-12 lies outside the green partitions "
        f"(2019-01..{LAST_MONTH}; TAXI_FIRST_MONTH and TAXI_LAST_MONTH set the bounds); nothing "
        "was loaded"
    ]
    assert runs(cli_env) == 0


def test_the_course_beyond_configured_bounds_is_refused_naming_them(cli_env: dict) -> None:
    done = course({**cli_env, "TAXI_LAST_MONTH": "2020-06"}, "--dry-run")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "yellow 2019-01..2020-12 lies outside the yellow partitions (2019-01..2020-06" in (
        done.stderr
    )


@pytest.fixture
def month_locks(pg_schema: str) -> Iterator[Callable[[str, str], int]]:
    """Hold the writer's per-month lock of (table, month) from another session, so that a load
    of it waits there (in a statement a cancel ends at once); the holder's pid."""
    with psycopg.connect(TEST_PG_URL, autocommit=True) as holder:

        def hold(table: str, month: str) -> int:
            key, slice_ = f"{pg_schema}.{table}", int(month.replace("-", ""))
            holder.execute("SELECT pg_advisory_lock(hashtext(%s), %s)", (key, slice_))
            return holder.info.backend_pid

        yield hold


def statuses(env: dict[str, str]) -> list[dg.DagsterRunStatus]:
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        return [record.dagster_run.status for record in instance.get_run_records()]


def test_the_course_killed_with_sigkill_stops_its_dagster_runs(
    cli_env: dict, month_locks: Callable[[str, str], int], pg_schema: str, tmp_path: Path
) -> None:
    holder = [month_locks("green_taxi", month) for month in ("2019-10", "2019-11")][0]
    command = [sys.executable, "-m", "taxi_assets.course", "--part", f"green:{GREEN_SPAN}"]
    log = (tmp_path / "course.txt").open("w")
    process = subprocess.Popen(command, env=cli_env, stdout=log, stderr=subprocess.STDOUT)
    children: list[psutil.Process] = []
    try:
        wait_for(lambda: len(advisory_waiters_behind(holder)) == 2, "both months' loads")
        children = psutil.Process(process.pid).children(recursive=True)  # watcher, dagster, ...
        assert [c.name() for c in children].count("dagster") == 1
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        _, left = psutil.wait_procs(children, timeout=60)
        assert left == [], (tmp_path / "course.txt").read_text()[-4000:]
    finally:
        if process.poll() is None:
            process.kill()
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    assert statuses(cli_env) in ([dg.DagsterRunStatus.CANCELED], [dg.DagsterRunStatus.FAILURE])
    assert sessions_of(pg_schema) == [] and advisory_waiters_behind(holder) == []
    assert tables_like(pg_schema, "green_taxi_%") == []  # rolled back, staging tables too


def test_a_run_whose_process_was_killed_is_marked_failed_at_the_next_course_start(
    start, cli_env: dict, month_locks: Callable[[str, str], int], tmp_path: Path
) -> None:
    holder = month_locks("yellow_taxi", MONTH)
    run = start(cli_env, MONTH, tmp_path / "run")
    wait_for(lambda: advisory_waiters_behind(holder), "the run's load")
    kill_group(run)  # SIGKILL: the run cannot record its end
    assert statuses(cli_env) == [dg.DagsterRunStatus.STARTED]  # alive for ever, left alone
    done = course(cli_env, "--part", f"green:{GREEN_SPAN}", "--dry-run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"marked FAILURE: its process {run.pid} is gone" in done.stdout
    assert statuses(cli_env) == [dg.DagsterRunStatus.FAILURE]
    again = course(cli_env, "--part", f"green:{GREEN_SPAN}", "--dry-run")
    assert "marked FAILURE" not in again.stdout
