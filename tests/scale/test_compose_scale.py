"""deploy/compose.scale.yaml, the `scale` profile over docker-compose.yaml, checked without a
Docker engine: its structure, and `docker-compose config` of both files for real."""

import re
from pathlib import Path

import pytest
import yaml

from taxi_assets.shared.executor import _celery_config
from taxi_testkit.cluster import REPO_ROOT
from tests.deploy.test_compose import docker_compose, dotenv_names

SCALE = REPO_ROOT / "deploy" / "compose.scale.yaml"
ADDED = {"rabbitmq", "minio", "minio_bucket", "celery_worker"}
STORAGE = {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USER"}


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(SCALE.read_text())["services"]


def test_the_profile_adds_a_broker_an_object_store_and_workers(services: dict) -> None:
    assert set(services) == ADDED | {"user_code"}
    assert all(services[name]["profiles"] == ["scale"] for name in ADDED)
    assert services["rabbitmq"]["image"].startswith("rabbitmq:")
    assert services["minio"]["image"].startswith("minio/minio")


def test_workers_run_the_stock_command_on_the_shared_celery_config(services: dict) -> None:
    command = services["celery_worker"]["command"]
    assert command[:3] == ["dagster-celery", "worker", "start"]
    assert command[command.index("-y") + 1] == "celery.yaml"
    assert command[command.index("-A") + 1] == "dagster_celery.app"
    assert services["celery_worker"]["deploy"]["replicas"] >= 2


def test_workers_and_the_runs_agree_on_executor_broker_lake_and_storage(services: dict) -> None:
    worker = services["celery_worker"]["environment"]
    runs = services["user_code"]["environment"]
    shared = {k: v for k, v in worker.items() if k.startswith(("TAXI_", "AWS_"))}
    assert shared.items() <= runs.items()
    assert set(worker) >= STORAGE
    assert shared["TAXI_EXECUTOR"] == "celery" and shared["TAXI_LAKE_DIR"].startswith("s3://")
    assert "@rabbitmq:5672" in shared["TAXI_CELERY_BROKER"]
    assert shared["AWS_ENDPOINT_URL"] == "http://minio:9000"


def test_secrets_come_from_env_and_nothing_is_published(services: dict) -> None:
    text = SCALE.read_text()
    for name in ("RABBITMQ_PASSWORD", "MINIO_PASSWORD", "DAGSTER_DB_PASSWORD"):
        assert re.search(rf"\$\{{{name}:\?set {name} in \.env\}}", text), name
    assert not any("ports" in service for service in services.values())


def test_services_wait_for_healthy_dependencies(services: dict) -> None:
    for name in ("rabbitmq", "minio", "celery_worker"):
        assert services[name]["healthcheck"]["test"], name
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dependency == "minio_bucket" else None
            assert condition["condition"] == (wanted or "service_healthy"), (name, dependency)


def test_celery_yaml_keeps_late_acks_for_the_workers_it_starts() -> None:
    source = _celery_config(REPO_ROOT / "celery.yaml")["config_source"]
    assert source["task_acks_late"] and source["task_reject_on_worker_lost"]


def test_the_image_can_carry_the_scale_extra_and_celery_yaml() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert 'pip install --no-cache-dir -c constraints.txt ".${EXTRAS}"' in dockerfile
    assert "!constraints.txt" in (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert "COPY celery.yaml ./" in dockerfile
    assert "!celery.yaml" in (REPO_ROOT / ".dockerignore").read_text().splitlines()


def test_env_example_names_every_variable_the_profile_reads() -> None:
    referenced = set(re.findall(r"\$\{(\w+)", SCALE.read_text()))
    assert referenced <= dotenv_names(REPO_ROOT / ".env.example")
    assert {"RABBITMQ_PASSWORD", "MINIO_PASSWORD"} <= referenced


def _scale_config(tmp_path: Path, extra_env: str):
    env_file = tmp_path / "compose.env"
    env_file.write_text((REPO_ROOT / ".env.example").read_text() + extra_env)
    return docker_compose(env_file, "-f", str(SCALE), "--profile", "scale", "config")


def test_docker_compose_config_merges_the_profile_over_the_stack(tmp_path: Path) -> None:
    done = _scale_config(tmp_path, "RABBITMQ_PASSWORD=rabbit-secret\nMINIO_PASSWORD=minio-secret\n")
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)["services"]
    assert set(resolved) == ADDED | {
        "postgres",
        "pools",
        "user_code",
        "analytics_code",
        "webserver",
        "daemon",
    }
    assert resolved["user_code"]["environment"]["TAXI_EXECUTOR"] == "celery"
    broker = resolved["celery_worker"]["environment"]["TAXI_CELERY_BROKER"]
    assert broker == "pyamqp://taxi:rabbit-secret@rabbitmq:5672//"


def test_docker_compose_config_refuses_the_profile_without_its_secrets(tmp_path: Path) -> None:
    done = _scale_config(tmp_path, "")
    assert done.returncode != 0
    assert "set RABBITMQ_PASSWORD in .env" in done.stderr
