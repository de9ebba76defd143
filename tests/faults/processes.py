"""Helpers for process faults: real `dagster job execute` runs, and what Postgres sees of them.

Sessions are recognised by the test's own schema in their current or last statement, because
other engineers' tests use the same server and the same application name at the same time.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import dagster as dg
import psycopg

from tests.support.postgres import TEST_PG_URL

DAGSTER = str(Path(sys.executable).with_name("dagster"))
T = TypeVar("T")


def start_job(
    env: dict[str, str],
    month: str,
    log_dir: Path,
    module: str = "taxi_assets",
    job: str = "yellow_taxi_job",
) -> subprocess.Popen:
    """Start `dagster job execute` for one month in its own process group."""
    log_dir.mkdir(parents=True, exist_ok=True)
    tags = json.dumps({"dagster/partition": month})
    return subprocess.Popen(
        [DAGSTER, "job", "execute", "-m", module, "-j", job, "--tags", tags],
        env=env,
        stdout=(log_dir / "stdout.txt").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> int:
    """Signal the run's whole process group (the CLI and its step processes); reap the CLI."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    return process.wait(timeout=60)


def wait_for(probe: Callable[[], T], what: str, timeout: float = 90.0, every: float = 0.01) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def query(statement: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]


def sessions_of(schema: str) -> list[tuple]:
    """(pid, state, wait_event_type, query) of other sessions whose statement names `schema`."""
    return query(
        "SELECT pid, state, wait_event_type, query FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND position(%s in query) > 0 "
        "AND query NOT LIKE '%%pg_stat_activity%%'",
        (f'"{schema}"',),
    )


def waiting_on_lock(schema: str, statement: str) -> list[tuple]:
    """Sessions of `schema` blocked on a lock while running `statement` (a prefix)."""
    return [
        s for s in sessions_of(schema) if s[2] == "Lock" and s[3].lstrip().startswith(statement)
    ]


def advisory_waiters_behind(holder_pid: int) -> list[tuple]:
    """Sessions waiting for an advisory lock that `holder_pid` holds."""
    return query(
        "SELECT w.pid FROM pg_locks w JOIN pg_locks h ON h.locktype = 'advisory' "
        "AND h.classid = w.classid AND h.objid = w.objid AND h.objsubid = w.objsubid "
        "AND h.granted AND h.pid = %s WHERE w.locktype = 'advisory' AND NOT w.granted",
        (holder_pid,),
    )


def copy_progress(schema: str) -> int:
    """Rows COPY has processed so far into a table of `schema` (0 when none is running).

    Matched through the statement text: a one-stream load's staging table is new in an
    uncommitted transaction, so other sessions cannot see it in pg_class yet.
    """
    rows = query(
        "SELECT coalesce(sum(p.tuples_processed), 0) FROM pg_stat_progress_copy p "
        "JOIN pg_stat_activity a ON a.pid = p.pid WHERE position(%s in a.query) > 0",
        (f'"{schema}"',),
    )
    return int(rows[0][0])


def locks_held_in(schema: str) -> list[tuple]:
    """Locks other sessions hold on relations of `schema`."""
    return query(
        "SELECT l.pid, c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND l.pid <> pg_backend_pid()",
        (schema,),
    )


def child_oid(schema: str, table: str) -> int | None:
    """The table's oid if it is attached to the parent `yellow_taxi`, else None."""
    rows = query(
        "SELECT i.inhrelid::int FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    )
    return rows[0][0] if rows else None


def run_events(dagster_home: Path) -> tuple[list[dg.DagsterRun], list[tuple[str, str | None]]]:
    """The runs recorded in a Dagster home, and (event type, asset) of each event of the last."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = list(instance.get_runs())
        logs = instance.all_logs(runs[0].run_id) if runs else []
    events = [
        (e.dagster_event.event_type_value, _asset_of(e.dagster_event))
        for e in logs
        if e.dagster_event
    ]
    return runs, events


def _asset_of(event: dg.DagsterEvent) -> str | None:
    key = event.asset_key if event.is_step_materialization else None
    return key.to_user_string() if key else None
