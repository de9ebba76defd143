"""A real Dagster deployment for tests: `dagster-webserver` and `dagster-daemon` sharing an
instance whose dagster.yaml is the project's own plus Postgres storage in a throwaway database."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import requests
from sqlalchemy.engine import make_url

from taxi_assets.shared.pools import create_pool_limits
from taxi_testkit.cluster import throwaway_database
from tests.support.backfill_control import TERMINAL_BACKFILL_STATUSES, BackfillControl
from tests.support.postgres import PG_ADMIN_URL

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass
class DagsterStack:
    """A running webserver + daemon; `api` is the webserver's GraphQL endpoint."""

    api: BackfillControl
    home: Path
    logs: Path

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def wait_for_backfill(self, backfill_id: str, deadline_seconds: float = 300) -> str:
        """The backfill's terminal status (a deadline against hanging, not a speed check)."""
        seen: list[str] = []

        def finished() -> bool:
            seen.append(self.api.backfill_status(backfill_id))
            return seen[-1] in TERMINAL_BACKFILL_STATUSES

        wait_until(finished, deadline_seconds, self)
        return seen[-1]

    def cancel_backfill(self, backfill_id: str, deadline_seconds: float = 120) -> None:
        """Cancel, and cancel again while the backfill still says REQUESTED.

        Dagster's asset backfill daemon reads the status, works, then writes the backfill back:
        a cancel that lands in between is overwritten (asset_backfill.py, the check before
        `update_backfill`). A user clicks Cancel again; so does this.
        """

        def accepted() -> bool:
            if self.api.backfill_status(backfill_id) != "REQUESTED":
                return True
            self.api.cancel_backfill(backfill_id)
            time.sleep(2)
            return self.api.backfill_status(backfill_id) != "REQUESTED"

        wait_until(accepted, deadline_seconds, self)

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.logs.glob("*.log"))


def materialized(stack: DagsterStack, asset: str, month: str | None = None) -> bool:
    """Whether the instance records a materialization of `asset` (of `month`, if given)."""
    with stack.instance() as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(asset), asset_partitions=[month] if month else None
            ),
            limit=1,
        ).records
    return bool(records)


def wait_until(condition: Callable[[], bool], deadline_seconds: float, stack: DagsterStack) -> None:
    """Poll `condition` every second until it holds; fail with the logs if it never does."""
    end = time.monotonic() + deadline_seconds
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(f"gave up after {deadline_seconds}s\n{stack.log_tail()}")
        time.sleep(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _throwaway_database() -> Iterator[str]:
    """The name of a fresh database for Dagster's storage, dropped afterwards."""
    with throwaway_database(PG_ADMIN_URL, "dagster_test") as url:
        yield str(make_url(url).database)


def _write_instance_yaml(home: Path, database: str) -> None:
    """The project's dagster.yaml (queue, pools, retries) plus Postgres storage."""
    home.mkdir(parents=True, exist_ok=True)
    storage = (
        "\nstorage:\n  postgres:\n    postgres_db:\n      username: postgres\n"
        f"      hostname: 127.0.0.1\n      port: 5432\n      db_name: {database}\n"
        "      scheme: postgresql+psycopg2\n"
    )
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text() + storage)


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Start a process in its own group; stop that group (and only it) afterwards, then kill
    what is left of it: a code server the webserver or daemon started can outlive them (its
    heartbeat did not stop it), and leftovers from earlier tests would share the machine."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            args,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        _terminate(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # a hung leader, the group's survivors
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait_for_webserver(url: str, proc: subprocess.Popen, log: Path) -> None:
    end = time.monotonic() + 120
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.post(url, json={"query": "{ version }"}, timeout=5).ok:
                return
        time.sleep(0.5)
    raise TimeoutError(f"dagster-webserver did not answer at {url}:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def running_stack(
    env: dict[str, str], workdir: Path, code: list[str] | None = None
) -> Iterator[DagsterStack]:
    """Webserver and daemon on a fresh Postgres-backed instance, stopped and dropped afterwards;
    `code` says which code locations (default: both, as `make dev`)."""
    home, logs = Path(env["DAGSTER_HOME"]), workdir / "logs"
    logs.mkdir(parents=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    code = code or ["-w", str(REPO / "workspace.yaml")]
    with _throwaway_database() as database, contextlib.ExitStack() as stack:
        _write_instance_yaml(home, database)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            create_pool_limits(instance)  # as the deployments do before their daemon starts
        web_log = logs / "webserver.log"
        web = stack.enter_context(
            _process(
                [str(BIN / "dagster-webserver"), *code, "-h", "127.0.0.1", "-p", str(port)],
                env,
                web_log,
            )
        )
        daemon = [sys.executable, "-m", "tests.support.fast_daemon", "run", *code]
        dmn = stack.enter_context(
            _process(daemon, {**env, "PYTHONPATH": str(REPO)}, logs / "daemon.log")
        )
        # Both are told to stop at once, then each is waited for: their shutdowns (up to 15 s
        # each) overlap instead of adding up.
        stack.callback(_terminate, web, dmn)
        _wait_for_webserver(url, web, web_log)
        yield DagsterStack(BackfillControl(url), home, logs)


def _terminate(*procs: subprocess.Popen) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
