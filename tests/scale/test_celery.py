"""Steps on dagster-celery workers (the local RabbitMQ), the lake on the loopback S3 store.

One deployment for the module: a Postgres-backed instance, two workers started with the stock
command, TAXI_EXECUTOR=celery. The tests run in order: the kill test leaves one worker.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
import s3fs

from taxi_testkit.cluster import (
    REPO_ROOT,
    CeleryWorkers,
    dagster_daemon,
    delete_queue,
    private_celery_config,
    throwaway_database,
    write_instance,
)
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.objectstore import aws_env
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import TEST_PG_URL, count_rows, throwaway_schema

# The tests share one deployment and run in order (the kill test leaves one worker): one xdist
# worker runs them all.
pytestmark = [pytest.mark.cli, pytest.mark.slow, pytest.mark.xdist_group("celery")]
DAGSTER = str(Path(sys.executable).with_name("dagster"))
BROKER = "pyamqp://guest@127.0.0.1:5672//"
BIG_MONTH, BIG_ROWS = "2021-04", 600_000  # long enough to kill a worker during its COPY
ADMIN_URL = TEST_PG_URL.rsplit("/", 1)[0] + "/postgres"


@dataclass
class Deployment:
    env: dict[str, str]
    home: Path
    schema: str
    bucket: str
    workers: CeleryWorkers

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))

    def execute(self, month: str) -> subprocess.Popen:
        """`dagster job execute` of one month, as a user would type it."""
        tags = json.dumps({"dagster/partition": month})
        args = ["job", "execute", "-m", "taxi_assets", "-j", "yellow_taxi_job", "--tags", tags]
        return subprocess.Popen(
            [DAGSTER, *args], env=self.env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def launch(self, month: str, tags: dict[str, str]) -> None:
        """`dagster job launch`: into the run queue, for the daemon to start."""
        tags = {"dagster/partition": month, **tags}
        args = ["job", "launch", "-m", "taxi_assets", "-j", "yellow_taxi_job"]
        subprocess.run(
            [DAGSTER, *args, "--tags", json.dumps(tags)],
            env=self.env, cwd=REPO_ROOT, check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def finished_run(self, month: str) -> dg.DagsterRun | None:
        with self.instance() as instance:
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": month}))
        return runs[0] if runs and runs[0].is_finished else None

    def events(self, month: str, kind: dg.DagsterEventType | None) -> list[dg.EventLogEntry]:
        """The events of the latest run of `month` (of one kind, or all)."""
        with self.instance() as instance:
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": month}))
            return instance.all_logs(runs[0].run_id, of_type=kind) if runs else []

    def ran_on(self, month: str) -> dict[str, list[str]]:
        """Step key -> the worker of each attempt, as the Celery task recorded it."""
        workers: dict[str, list[str]] = {}
        for entry in self.events(month, dg.DagsterEventType.ENGINE_EVENT):
            event = entry.dagster_event
            if event and "in celery worker" in (event.message or "") and entry.step_key:
                name = event.engine_event_data.metadata["Celery worker"].value
                workers.setdefault(entry.step_key, []).append(self.workers.name_of(str(name)))
        return workers

    def started_in(self, month: str) -> dict[str, list[str | None]]:
        """Step key -> the live worker whose process group emitted each STEP_START."""
        groups: dict[str, list[str | None]] = {}
        for entry in self.events(month, dg.DagsterEventType.STEP_START):
            pid = entry.dagster_event.pid if entry.dagster_event else None
            groups.setdefault(entry.step_key or "", []).append(self.workers.group_of(pid or 0))
        return groups


@pytest.fixture(scope="module")
def deployment(object_store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    tmp = tmp_path_factory.mktemp("celery")
    for month, rows in {**MONTH_ROWS, BIG_MONTH: BIG_ROWS}.items():
        write_month(month, rows, tmp / "mirror")
    bucket = f"celery-{uuid.uuid4().hex[:10]}"
    fs = s3fs.S3FileSystem(endpoint_url=object_store, key="testing", secret="testing")
    fs.mkdir(bucket)
    config, queue = private_celery_config(tmp)
    with (
        serve_mirror(tmp / "mirror") as mirror,
        throwaway_database(ADMIN_URL) as storage_url,
        throwaway_schema() as schema,
    ):
        env = {
            **_clean_env(),
            **aws_env(object_store),
            "DAGSTER_HOME": str(write_instance(tmp / "home", storage_url)),
            "TAXI_EXECUTOR": "celery",
            "TAXI_CELERY_BROKER": BROKER,
            "TAXI_CELERY_CONFIG": str(config),
            "TAXI_SOURCE_URL": mirror,
            "TAXI_LAKE_DIR": f"s3://{bucket}/lake",
            "TAXI_PG_URL": TEST_PG_URL,
            "TAXI_PG_SCHEMA": schema,
        }
        with CeleryWorkers(env, tmp / "logs", config, queue) as workers:
            workers.start("w1")
            workers.start("w2")
            yield Deployment(env, tmp / "home", schema, bucket, workers)
    delete_queue(BROKER, queue)
    fs.rm(bucket, recursive=True)


def test_three_months_run_on_both_workers_and_land_exact(deployment: Deployment) -> None:
    runs = {month: deployment.execute(month) for month in MONTH_ROWS}
    for month, process in runs.items():
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, f"{month}:\n{output[-3000:]}"
    used = set()
    for month, rows in MONTH_ROWS.items():
        ran_on = deployment.ran_on(month)
        assert {"raw_csv", "yellow_taxi"} <= set(ran_on)
        assert deployment.started_in(month) == ran_on  # each step ran inside its worker
        used.update(w for attempts in ran_on.values() for w in attempts)
        assert count_rows(deployment.schema, f"yellow_taxi_{month.replace('-', '_')}") == rows
        assert _lake_has(deployment, month)
    assert used == {"w1", "w2"}


def test_a_worker_killed_during_a_load_loses_nothing(deployment: Deployment) -> None:
    run = deployment.execute(BIG_MONTH)
    victim = _wait_for(lambda: deployment.ran_on(BIG_MONTH).get("yellow_taxi"), run)[0]
    assert victim is not None
    _wait_for(lambda: _copy_in_progress(deployment.schema), run, pause=0.02)
    deployment.workers.kill(victim)
    output = run.communicate(timeout=300)[0]
    assert run.returncode == 0, output[-3000:]
    attempts = deployment.ran_on(BIG_MONTH)["yellow_taxi"]
    assert attempts[0] == victim and attempts[-1] not in (None, victim)
    assert count_rows(deployment.schema, "yellow_taxi_2021_04") == BIG_ROWS


def _wait_for(
    probe: Callable[[], Any],
    run: subprocess.Popen | None,
    pause: float = 0.2,
    timeout: float = 180,
) -> Any:
    """Poll `probe` until it returns something truthy, failing if the run process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (run is None or run.poll() is None):
        if found := probe():
            return found
        time.sleep(pause)
    ended = run.communicate()[0][-3000:] if run else ""
    raise AssertionError(f"gave up waiting after {timeout:.0f}s {ended}")


def _copy_in_progress(schema: str) -> bool:
    """A COPY into a staging table of `schema` is running."""
    query = (
        "SELECT 1 FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid) "
        "WHERE a.query LIKE %s"
    )
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        return conn.execute(query, (f"COPY%{schema}%",)).fetchone() is not None


def _lake_has(deployment: Deployment, month: str) -> bool:
    fs = s3fs.S3FileSystem(**_s3_options(deployment.env))
    key = f"{deployment.bucket}/lake/yellow/yellow_tripdata_{month}.csv.gz"
    return fs.exists(key) and fs.exists(f"{key}.manifest.json")


def _s3_options(env: dict[str, str]) -> dict[str, str]:
    return {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "key": env["AWS_ACCESS_KEY_ID"],
        "secret": env["AWS_SECRET_ACCESS_KEY"],
    }


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TAXI_", "AWS_"))}


def test_a_run_with_no_worker_left_ends_with_a_clear_message(deployment: Deployment) -> None:
    for name in list(deployment.workers.processes):
        deployment.workers.kill(name)
    with dagster_daemon(deployment.env, deployment.home / "daemon.log"):
        deployment.launch("2021-02", {"dagster/max_runtime": "20"})
        run = _wait_for(lambda: deployment.finished_run("2021-02"), None, timeout=300)
        # The run process, told to stop, revokes its queued step and exits (it does not hang).
        _wait_for(lambda: _logged(deployment, "2021-02", "revoking active tasks"), None, 60)
    assert run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    assert _logged(deployment, "2021-02", "exceeding maximum runtime of 20 seconds")


def _logged(deployment: Deployment, month: str, text: str) -> bool:
    return any(text in (e.message or "") for e in deployment.events(month, None))
