"""The embedded default Postgres shared by processes that start it at once, or die under it
(docs/failure-modes.md, The process and the database). Real processes on a fresh data folder,
TAXI_PG_URL unset."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.faults.processes import wait_for

pytestmark = pytest.mark.embedded

# A user of the warehouse: connects, says so, waits until `others` more have connected too,
# then uses its connection again (cut by a restart, it fails) and prints what it saw.
USER = """
import sys, time
from pathlib import Path
import psycopg
from taxi_assets.resources import WarehouseResource

ready, name, others = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with psycopg.connect(WarehouseResource().target_url(), autocommit=True) as conn:
    before = conn.execute("SELECT pg_backend_pid(), pg_postmaster_start_time()").fetchone()
    (ready / name).touch()
    deadline = time.monotonic() + 60
    while len(list(ready.iterdir())) <= others and time.monotonic() < deadline:
        time.sleep(0.05)
    after = conn.execute(
        "SELECT pg_backend_pid(), pg_postmaster_start_time(), current_setting('wal_level')"
    ).fetchone()
    print(before == after[:2], after[1].isoformat(), after[2], len(list(ready.iterdir())))
    if "--stay" in sys.argv:
        time.sleep(600)
"""


def embedded_env(embedded_dir: Path) -> dict[str, str]:
    """No TAXI_PG_URL (the autouse fixture removed it): the embedded server in `embedded_dir`."""
    return {**os.environ, "TAXI_PG_EMBEDDED_DIR": str(embedded_dir), "PYTHONWARNINGS": "ignore"}


def start_user(env: dict, ready: Path, name: str, others: int, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-c", USER, str(ready), name, str(others), *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def servers_on(embedded_dir: Path) -> list[psutil.Process]:
    """Postgres postmasters whose command line names the data folder."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(embedded_dir) in (
            process.info["cmdline"] or []
        ):
            found.append(process)
    return found


def assert_stopped_within_15s(embedded_dir: Path) -> None:
    wait_for(lambda: not servers_on(embedded_dir), "the embedded server to stop", timeout=15)
    assert not (embedded_dir / "postmaster.pid").exists()


def test_two_reports_at_once_on_a_fresh_folder_both_get_the_warehouse(
    embedded_dir: Path,
) -> None:
    env = embedded_env(embedded_dir)
    command = [sys.executable, "-m", "taxi_assets.report"]
    reports = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [report.communicate(timeout=120) for report in reports]
    for stdout, stderr in outputs:
        assert f"warehouse: postgresql://postgres@/postgres?host={embedded_dir}" in stdout
        assert "Traceback" not in stderr, stderr
        assert stderr.strip().endswith(
            "no months loaded yet: run `make main` or materialize in the UI"
        )
    assert_stopped_within_15s(embedded_dir)


@pytest.fixture
def ready(tmp_path: Path) -> Path:
    """The folder where each user marks that it has connected."""
    folder = tmp_path / "ready"
    folder.mkdir()
    return folder


def seen_by(user: subprocess.Popen) -> list[str]:
    """What a user printed once it ended well: kept its session, server start, wal_level."""
    stdout, stderr = user.communicate(timeout=120)
    assert user.returncode == 0, stderr.decode()[-2000:]
    return stdout.decode().split()


def test_users_starting_at_once_never_cut_each_other_and_the_last_stops_it(
    embedded_dir: Path, ready: Path
) -> None:
    env = embedded_env(embedded_dir)
    users = [start_user(env, ready, name, 1) for name in ("first", "second")]
    first, second = (seen_by(user) for user in users)
    # Each kept its session across the other's start, both on one server set up for bulk loads.
    assert first[0] == second[0] == "True" and first[1] == second[1]
    assert first[2] == second[2] == "minimal"
    assert_stopped_within_15s(embedded_dir)


def test_a_user_killed_with_sigkill_does_not_keep_the_server_running(
    embedded_dir: Path, ready: Path
) -> None:
    env = embedded_env(embedded_dir)
    killed = start_user(env, ready, "killed", 0, "--stay")
    try:
        wait_for(lambda: (ready / "killed").exists(), "the first user to connect", timeout=60)
        os.kill(killed.pid, signal.SIGKILL)  # no exit hook runs: it stays on the list of users
        killed.wait(timeout=30)
        assert seen_by(start_user(env, ready, "last", 1))[0] == "True"
        assert_stopped_within_15s(embedded_dir)
    finally:
        if killed.poll() is None:
            killed.kill()
