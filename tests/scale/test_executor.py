"""TAXI_EXECUTOR=celery makes dagster-celery the code location's executor; unset, the in-process
one of definitions.py stays."""

from pathlib import Path

import pytest

from taxi_assets import defs
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.shared.executor import DEFAULT_CELERY_BROKER, _celery_config, default_executor
from taxi_testkit.cluster import REPO_ROOT

CELERY_YAML = REPO_ROOT / "celery.yaml"


def test_unset_keeps_the_in_process_executor() -> None:
    assert default_executor() is None
    assert defs.resolve_job_def("yellow_taxi_job").executor_def.name == "in_process"


def test_celery_is_the_stock_executor_configured_from_celery_yaml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAXI_EXECUTOR", "celery")
    monkeypatch.setenv("TAXI_CELERY_CONFIG", str(CELERY_YAML))
    executor = default_executor()
    assert executor is not None and executor.name == "celery"


def test_workers_and_runs_share_late_acks_and_redelivery() -> None:
    config = _celery_config(CELERY_YAML)
    assert config["broker"] == DEFAULT_CELERY_BROKER
    assert config["config_source"]["task_acks_late"] is True
    assert config["config_source"]["task_reject_on_worker_lost"] is True


def test_the_broker_comes_from_taxi_celery_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAXI_CELERY_BROKER", "pyamqp://someone@broker.example:5672//")
    assert _celery_config(CELERY_YAML)["broker"] == {"env": "TAXI_CELERY_BROKER"}


def test_an_unknown_executor_or_missing_config_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAXI_EXECUTOR", "kubernetes")
    with pytest.raises(TaxiError, match="TAXI_EXECUTOR='kubernetes' is not supported"):
        default_executor()
    with pytest.raises(TaxiError, match="cannot read the Celery executor config"):
        _celery_config(tmp_path / "celery.yaml")
