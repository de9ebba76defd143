"""deploy/dagster.yaml: valid for the installed Dagster, and a real instance on Postgres storage."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.scheduler.instigation import TickStatus
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from tests.deploy.stack import REPO, dagster_storage_env, throwaway_database

DEPLOY_YAML = REPO / "deploy" / "dagster.yaml"


@pytest.fixture
def deploy_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A DAGSTER_HOME holding deploy/dagster.yaml, its DAGSTER_PG_* pointing at a new database."""
    with throwaway_database("taxi_instance") as url:
        for name, value in dagster_storage_env(url).items():
            monkeypatch.setenv(name, value)
        shutil.copy(DEPLOY_YAML, tmp_path / "dagster.yaml")
        yield tmp_path, url


@pytest.fixture
def instance(deploy_home: tuple[Path, str]) -> Iterator[dg.DagsterInstance]:
    home, _ = deploy_home
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as started:
        yield started


@dg.asset
def probe() -> int:
    """A trivial asset: its run proves the instance records runs and events."""
    return 1


def test_deploy_yaml_validates_against_the_installed_instance_schema(deploy_home) -> None:
    config, custom_class = dagster_instance_config(str(deploy_home[0]))
    assert custom_class is None
    assert config["storage"]["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"


def test_instance_without_its_environment_names_the_missing_variable(
    deploy_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_PG_HOST")
    with pytest.raises(dg.DagsterInvalidConfigError) as refused:
        dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(deploy_home[0])))
    assert "DAGSTER_PG_HOST" in " ".join(error.message for error in refused.value.errors)


def test_instance_stores_runs_and_events_in_postgres(instance, deploy_home) -> None:
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    result = dg.materialize([probe], instance=instance)
    assert result.success
    with psycopg.connect(deploy_home[1]) as conn:
        stored = conn.execute("SELECT run_id, status FROM runs").fetchall()
    assert stored == [(result.run_id, "SUCCESS")]


def test_instance_queues_runs_and_retries_only_crashed_ones(instance) -> None:
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    concurrency = instance.get_concurrency_config()
    assert concurrency.pool_config.pool_granularity.value == "run"
    assert concurrency.pool_config.default_pool_limit == 1  # one load run, one analytics run
    assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
    assert not instance.run_retries_retry_on_asset_or_op_failure
    assert instance.run_monitoring_enabled


def test_instance_purges_old_ticks(instance) -> None:
    sensor_days = instance.get_tick_retention_settings(InstigatorType.SENSOR)
    assert sensor_days[TickStatus.SKIPPED] == 7 and sensor_days[TickStatus.FAILURE] == 90
    schedule_days = instance.get_tick_retention_settings(InstigatorType.SCHEDULE)
    assert set(schedule_days.values()) == {90}
