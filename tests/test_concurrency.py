"""Airflow's `max_active_runs=1` as Dagster concurrency, and why correctness never depends on it."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.analytics.assets import taxi_dbt_dimensions, taxi_dbt_monthly
from taxi_assets.shared.pools import ANALYTICS_POOL, POOLS, WAREHOUSE_POOL
from tests.support.dagster_stack import REPO
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import count_rows
from tests.support.trips import raw_csv, yellow_taxi
from tests.support.warehouse_probes import blocked_by, reader_holding, staging_tables

DAGSTER = str(Path(sys.executable).with_name("dagster"))
PATIENT_LOCKS = json.dumps({"resources": {"warehouse": {"config": {"lock_timeout_seconds": 600}}}})


def test_the_project_instance_runs_one_load_run_and_one_analytics_run_at_a_time(
    tmp_path: Path,
) -> None:
    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        config = instance.get_concurrency_config()
    assert config.pool_config.pool_granularity.value == "run"
    assert config.pool_config.default_pool_limit == 1  # the knob: one run per pool
    assert config.run_queue_config.max_concurrent_runs >= 2  # a load beside an analytics run
    assert yellow_taxi.op.pool == WAREHOUSE_POOL
    assert {taxi_dbt_monthly.op.pool, taxi_dbt_dimensions.op.pool} == {ANALYTICS_POOL}


def test_the_pools_have_their_limits_before_the_daemon_first_looks(tmp_path: Path) -> None:
    """On a fresh instance no pool has a limit yet, and the daemon's first pass would not count
    one (taxi_assets/shared/pools.py): the deployments create them first, with this command."""
    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.event_log_storage.get_concurrency_keys() == set()
    command = [sys.executable, "-m", "taxi_assets.shared.pools"]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [f"pool {pool}: limit 1" for pool in POOLS]
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        limits = instance.event_log_storage.get_pool_limits()
    assert {(p.name, p.limit, p.from_default) for p in limits} == {(p, 1, True) for p in POOLS}


@pytest.fixture
def start_load(
    cli_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[str], subprocess.Popen]]:
    """Start `dagster asset materialize` of one month of yellow_taxi, in its own process and
    instance; processes still running at the end are killed."""
    started: list[subprocess.Popen] = []

    def start(month: str) -> subprocess.Popen:
        home = tmp_path / f"home{len(started)}"
        home.mkdir()
        args = ["asset", "materialize", "-m", "taxi_assets", "--select", "yellow_taxi"]
        args += ["--partition", month, "--config-json", PATIENT_LOCKS]
        # A third load slot: the month's first load takes two (two COPY streams), and the
        # second must get past the slots to wait on the month's own lock, the subject here.
        env = {**cli_env, "DAGSTER_HOME": str(home), "TAXI_LOAD_SLOTS": "3"}
        started.append(subprocess.Popen([DAGSTER, *args], env=env))
        return started[-1]

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def waits_in_line(reader: int) -> list[str]:
    """What the loads wait for: the first for the reader's table lock, the second behind it
    for the month's advisory lock."""
    first = blocked_by(reader)
    second = blocked_by(first[0][0]) if len(first) == 1 else []
    return [event for _, event in first + second]


@pytest.mark.cli
def test_two_processes_loading_one_month_at_once_leave_exactly_one_copy(
    resources: dict, start_load: Callable[[str], subprocess.Popen], pg_schema: str
) -> None:
    dg.materialize([raw_csv, yellow_taxi], partition_key="2021-03", resources=resources)
    with reader_holding(pg_schema, "yellow_taxi_2021_03") as reader:
        loads = [start_load("2021-03"), start_load("2021-03")]
        deadline = time.monotonic() + 120
        while waits_in_line(reader) != ["relation", "advisory"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert waits_in_line(reader) == ["relation", "advisory"]
    assert [load.wait(timeout=300) for load in loads] == [0, 0]
    assert count_rows(pg_schema, "yellow_taxi") == MONTH_ROWS["2021-03"]
    assert staging_tables(pg_schema) == []
