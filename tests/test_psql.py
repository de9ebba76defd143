"""`make psql` and `make warehouse` (python -m taxi_assets.psql): the warehouse the pipeline
writes to, opened with the same settings, the embedded server started when it is the one."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import psycopg

from tests.support.mirror_months import MONTH_ROWS
from tests.support.trips import raw_csv, yellow_taxi

COMMAND = [sys.executable, "-m", "taxi_assets.psql"]


def psql(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_psql_opens_the_configured_warehouse_in_its_schema(
    resources: dict, cli_env: dict[str, str]
) -> None:
    dg.materialize([raw_csv, yellow_taxi], partition_key="2021-01", resources=resources)
    done = psql(cli_env, "-tAc", "select count(1) from yellow_taxi_2021_01")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(MONTH_ROWS["2021-01"])


def test_psql_starts_the_embedded_warehouse_when_none_is_configured(embedded_dir: Path) -> None:
    env = {**os.environ, "TAXI_PG_EMBEDDED_DIR": str(embedded_dir)}
    done = psql(env, "-tAc", "show data_directory")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(embedded_dir.resolve())


def test_serve_keeps_the_embedded_warehouse_up_for_other_clients(embedded_dir: Path) -> None:
    env = {**os.environ, "TAXI_PG_EMBEDDED_DIR": str(embedded_dir)}
    server = subprocess.Popen([*COMMAND, "--serve"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        lines = [server.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
        url = next(line.removeprefix("URL: ").strip() for line in lines if line.startswith("URL"))
        with psycopg.connect(url) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0
