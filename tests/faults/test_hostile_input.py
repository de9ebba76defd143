"""docs/failure-modes.md, "Hostile input": partition keys, credentials, the webserver's address.

Hostile keys go in through the paths a user has: the GraphQL API the UI calls, and the CLI.
`parse_month` itself is covered in tests/test_ingest.py; here the point is that nothing
reaches a path or a SQL statement: the lake stays empty and a canary table survives.
"""

import json
import re
import socket
import subprocess
from pathlib import Path

import dagster as dg
import psutil
import psycopg
import pytest
from dagster._core.test_utils import instance_for_test
from dagster_graphql.test.utils import define_out_of_process_context, materialize_assets
from psycopg import sql

from taxi_assets.resources import WarehouseResource
from tests.faults.processes import DAGSTER, run_events, wait_for
from tests.support.fault_month import MONTH, lake_files, materialize
from tests.support.postgres import TEST_PG_URL
from tests.support.runs import failure_message

HOSTILE_KEYS = ["../../x", "2021-13", "2021-01'; drop table x;--"]
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "Hunter2-not-for-logs"


@pytest.fixture
def canary(pg_schema: str) -> None:
    """A table named `x` in the test schema, for the key that tries to drop it."""
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(pg_schema, "x")))


def schema_tables(pg_schema: str) -> list[str]:
    with psycopg.connect(TEST_PG_URL) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (pg_schema,)
        ).fetchall()
    return sorted(r[0] for r in rows)


def test_hostile_keys_from_graphql_are_rejected_before_any_run(
    canary,
    cli_env: dict,
    lake_dir: Path,
    pg_schema: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for name in ("TAXI_SOURCE_URL", "TAXI_LAKE_DIR", "TAXI_PG_URL", "TAXI_PG_SCHEMA"):
        monkeypatch.setenv(name, cli_env[name])  # the code server reads them
    assets = [dg.AssetKey("raw_csv"), dg.AssetKey("yellow_taxi")]
    with instance_for_test() as instance:
        # The load location alone (the GraphQL helpers infer the repository of a lone location).
        loads = tmp_path / "workspace.yaml"
        loads.write_text("load_from:\n  - python_module: {module_name: taxi_assets}\n")
        with define_out_of_process_context(str(loads), None, instance) as ui:
            answers = materialize_assets(ui, assets, partition_keys=HOSTILE_KEYS)
        assert instance.get_runs() == []
    for key, answer in zip(HOSTILE_KEYS, answers, strict=True):  # type: ignore[arg-type]
        launched = answer.data["launchPipelineExecution"]
        assert launched["__typename"] == "PythonError"
        assert "does not match format '%Y-%m" in launched["message"] and key in launched["message"]
    assert lake_files(lake_dir) == []
    assert schema_tables(pg_schema) == ["x"]


@pytest.mark.cli
def test_a_hostile_key_from_the_cli_is_rejected_before_any_path_or_sql(
    canary, cli_env: dict, lake_dir: Path, pg_schema: str
) -> None:
    key = "2021-01'; drop table x;--"
    materialize_cmd = [DAGSTER, "asset", "materialize", "-m", "taxi_assets"]
    done = subprocess.run(
        [*materialize_cmd, "--select", "raw_csv,yellow_taxi", "--partition", key],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert key in done.stderr + done.stdout
    assert lake_files(lake_dir) == []
    assert schema_tables(pg_schema) == ["x"]


@pytest.mark.cli
def test_a_password_never_reaches_logs_run_config_or_metadata(
    start, cli_env: dict, pg_schema: str, tmp_path: Path
) -> None:
    url = TEST_PG_URL.replace("postgres@", f"postgres:{PASSWORD}@")  # trust auth ignores it
    run = start({**cli_env, "TAXI_PG_URL": url}, MONTH, tmp_path / "run")
    assert run.wait(timeout=300) == 0
    runs, _ = run_events(Path(cli_env["DAGSTER_HOME"]))
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        stored = [repr(record) for record in instance.all_logs(runs[0].run_id)]
    assert any("yellow_taxi_2021_01" in record for record in stored)  # metadata was stored
    assert PASSWORD not in (tmp_path / "run" / "stdout.txt").read_text()
    assert PASSWORD not in json.dumps(runs[0].run_config) + repr(runs[0].tags)
    assert not [record for record in stored if PASSWORD in record]


def test_a_password_is_masked_in_connection_errors(resources: dict, pg_schema: str) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/no_such_database"
    warehouse = WarehouseResource(
        url=url, schema_name=pg_schema, connect_attempts=1, load_attempts=1
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize({**resources, "warehouse": warehouse}, instance=instance)
        logged = " ".join(repr(record) for record in instance.all_logs(result.run_id))
    message = failure_message(result)
    assert "cannot connect to the warehouse at postgresql://postgres:***@127.0.0.1:5432" in message
    assert 'database "no_such_database" does not exist' in message
    assert PASSWORD not in message and PASSWORD not in logged


URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@")
PLACEHOLDERS = re.compile(r"\*+|password|\$\{?\w+\}?|\{\w+\}|<\w+>")  # docs, ${VAR}, f"{field}"


def _passwords_in(path: Path) -> list[str]:
    found = URL_PASSWORD.findall(path.read_text(errors="replace"))
    return [p for p in found if not PLACEHOLDERS.fullmatch(p)]


def test_no_credentials_in_code_or_configuration() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    shipped = [p for p in tracked if not p.startswith("tests/") and (REPO / p).is_file()]
    assert "taxi_assets/mechanics/settings.py" in shipped
    assert {p: _passwords_in(REPO / p) for p in shipped if _passwords_in(REPO / p)} == {}


@pytest.mark.cli
def test_the_webserver_listens_on_loopback_only_by_default(cli_env: dict, tmp_path: Path) -> None:
    """The row's docker-compose half: tests/deploy/test_compose.py asserts the webserver is
    published on `127.0.0.1:` only."""
    port = _free_port()
    server = subprocess.Popen(
        [f"{DAGSTER}-webserver", "-m", "taxi_assets", "-p", str(port)],
        env=cli_env,
        stdout=(tmp_path / "webserver.txt").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        listening = wait_for(lambda: _listening(server.pid, port), "the webserver", 120, 0.2)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert listening == {"127.0.0.1"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(pid: int, port: int) -> set[str]:
    """Addresses that the process (or its children) listens on at `port`."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    addresses = set()
    for process in procs:
        try:  # the webserver starts and stops helper processes of its own meanwhile
            connections = process.net_connections(kind="inet")
        except (psutil.NoSuchProcess, FileNotFoundError):
            continue
        addresses |= {
            c.laddr.ip
            for c in connections
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        }
    return addresses
