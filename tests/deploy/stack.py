"""The always-on stack for tests: deploy/run-stack.sh on free ports, its own Postgres databases.

Starts the documented script itself (not a copy of what it does), so the tests exercise exactly
what users run; stopping it checks that no process of the stack is left behind.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests
from psycopg import sql
from sqlalchemy.engine import make_url

from taxi_testkit import cluster
from tests.support.postgres import TEST_PG_URL

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180
STOP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A new database on the test server; yields its URL and drops it (and its sessions) after."""
    with cluster.throwaway_database(TEST_PG_URL, prefix) as url:
        yield url


def dagster_storage_env(url: str) -> dict[str, str]:
    """The DAGSTER_PG_* variables deploy/dagster.yaml reads, for the database at `url`."""
    parsed = make_url(url)
    return {
        "DAGSTER_PG_HOST": parsed.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(parsed.port or 5432),
        "DAGSTER_PG_DB": parsed.database or "",
        "DAGSTER_PG_USER": parsed.username or "postgres",
        "DAGSTER_PG_PASSWORD": parsed.password or "",
    }


@dataclass
class Stack:
    """A running stack: where its UI is, and the databases and folders it uses."""

    web_url: str
    web_port: int
    dagster_url: str
    warehouse_url: str
    env: dict[str, str]
    log: Path


def _wait_until_serving(stack: Stack, process: subprocess.Popen) -> None:
    """Until the webserver answers and has loaded both code locations from their gRPC servers."""
    query = {
        "query": "{ workspaceOrError { ... on Workspace { locationEntries { name "
        "locationOrLoadError { __typename } } } } }"
    }
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"run-stack.sh exited early:\n{stack.log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            entries = requests.post(f"{stack.web_url}/graphql", json=query, timeout=5).json()
            found = entries["data"]["workspaceOrError"]["locationEntries"]
            loaded = {
                e["name"]
                for e in found
                if e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
            }
            if loaded == {"taxi_assets", "taxi_analytics"}:
                return
        time.sleep(1)
    raise TimeoutError(f"the stack did not serve within {STARTUP_SECONDS}s")


def stop_stack(process: subprocess.Popen) -> list[int]:
    """SIGTERM the script as a user would; returns the pids of its group still alive after."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=STOP_SECONDS + 30)
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline:
        leftovers = _group_members(process.pid)
        if not leftovers:
            return []
        time.sleep(0.5)
    return _group_members(process.pid)


def _group_members(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry.name)) == pgid:
                    found.append(int(entry.name))
    return found


@contextlib.contextmanager
def running_stack(mirror_url: str, work: Path) -> Iterator[Stack]:
    """deploy/run-stack.sh against fresh databases; raises at exit if anything outlived it."""
    with throwaway_database("taxi_dagster") as dagster_url, throwaway_database("taxi_wh") as wh:
        web_port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TAXI_")},
            **dagster_storage_env(dagster_url),
            "DAGSTER_HOME": str(work / "dagster_home"),
            "DAGSTER_GRPC_PORT": str(free_port()),
            "DAGSTER_ANALYTICS_GRPC_PORT": str(free_port()),
            "DAGSTER_WEBSERVER_PORT": str(web_port),
            "VENV": str(Path(sys.executable).parent.parent),
            "TAXI_SOURCE_URL": mirror_url,
            "TAXI_LAKE_DIR": str(work / "lake"),
            "TAXI_PG_URL": wh,
        }
        stack = Stack(
            f"http://127.0.0.1:{web_port}", web_port, dagster_url, wh, env, work / "stack.log"
        )
        with stack.log.open("wb") as log:
            process = subprocess.Popen(
                ["bash", str(REPO / "deploy" / "run-stack.sh")],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_until_serving(stack, process)
            yield stack
        finally:
            leftovers = stop_stack(process)
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if leftovers:
            raise AssertionError(f"processes outlived run-stack.sh: {leftovers}")


def launch_month(stack: Stack, month: str, timeout: float = 300) -> tuple[str, str]:
    """Submit yellow_taxi_job for `month` through the GraphQL client; the run id and its final
    status."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=stack.web_port)
    run_id = client.submit_job_execution("yellow_taxi_job", tags={"dagster/partition": month})
    return run_id, wait_for_run(client, run_id, timeout).value


def wait_for_run(client, run_id: str, timeout: float):
    """Poll until the run reaches a final status (queued runs wait for the daemon)."""
    from dagster import DagsterRunStatus

    final = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id)
        if status in final:
            return status
        time.sleep(1)
    raise TimeoutError(f"run {run_id} not finished after {timeout}s")


def stored_run_status(stack: Stack, run_id: str) -> str | None:
    """The run's status as Dagster's Postgres run storage holds it."""
    with psycopg.connect(stack.dagster_url) as conn:
        row = conn.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,)).fetchone()
        return row[0] if row else None


def warehouse_count(stack: Stack, table: str) -> int:
    """`select count(1)` from a warehouse table of the stack."""
    with psycopg.connect(stack.warehouse_url) as conn:
        query = sql.SQL("SELECT count(1) FROM {}").format(sql.Identifier(table))
        return conn.execute(query).fetchone()[0]  # type: ignore[index]


def loaded_months(stack: Stack) -> list[str]:
    """Months that have a child table in the stack's warehouse, as `YYYY-MM`."""
    with psycopg.connect(stack.warehouse_url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'yellow_taxi'"
        ).fetchall()
    return sorted(name.removeprefix("yellow_taxi_").replace("_", "-") for (name,) in rows)


def graphql(stack: Stack, query: str, **variables: object) -> dict:
    """The `data` of a query to the stack's GraphQL endpoint (what the UI itself calls)."""
    answer = requests.post(
        f"{stack.web_url}/graphql", json={"query": query, "variables": variables}, timeout=30
    ).json()
    assert "errors" not in answer, answer
    return answer["data"]


_MATERIALIZED = """query Materialized($key: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $key) { ... on Asset {
    assetMaterializations(partitions: $partitions, limit: 1) { runId } } } }"""


def wait_until_materialized(
    stack: Stack, asset: str, month: str | None = None, timeout: float = 300
) -> None:
    """Until `asset` (or its `month`) has a materialization; the automation sensor ticks every
    30 s and runs queue one at a time."""
    partitions = [month] if month else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = graphql(stack, _MATERIALIZED, key={"path": [asset]}, partitions=partitions)
        if found["assetOrError"].get("assetMaterializations"):
            return
        time.sleep(2)
    raise TimeoutError(f"{asset} {month or ''} not materialized after {timeout}s")


def backfill_months(stack: Stack, months: list[str], timeout: float = 300) -> str:
    """Backfill raw_csv and yellow_taxi for `months` as the UI's dialog does; its final status."""
    from tests.support.backfill_control import TERMINAL_BACKFILL_STATUSES, BackfillControl

    api = BackfillControl(f"{stack.web_url}/graphql")
    backfill_id = api.launch_backfill(months, title=f"{months[0]}..{months[-1]}")
    deadline = time.monotonic() + timeout
    while (status := api.backfill_status(backfill_id)) not in TERMINAL_BACKFILL_STATUSES:
        if time.monotonic() > deadline:
            raise TimeoutError(f"backfill {backfill_id} not finished after {timeout}s")
        time.sleep(2)
    return status
