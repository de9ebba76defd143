"""docker-compose.yaml, checked without a Docker engine: its structure against what the code and
deploy/dagster.yaml read, `docker-compose config` for real, and the Postgres init script run
against the local server."""

import os
import re
import shutil
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import setuptools
import yaml
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.deploy.stack import REPO
from tests.support.postgres import TEST_PG_URL

COMPOSE = REPO / "docker-compose.yaml"
DAGSTER_SERVICES = ("user_code", "analytics_code", "webserver", "daemon")
CODE_SETTINGS = {"TAXI_PG_URL", "TAXI_LAKE_DIR", "TAXI_SOURCE_URL"}


def env_names(path: Path) -> set[str]:
    """Every `{env: NAME}` a Dagster YAML file reads."""
    return set(re.findall(r"\{env:\s*(\w+)\}", path.read_text()))


def dotenv_names(path: Path) -> set[str]:
    lines = path.read_text().splitlines()
    return {line.split("=", 1)[0].lstrip("# ") for line in lines if re.match(r"#? ?\w+=", line)}


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_the_services(services: dict) -> None:
    assert set(services) == {"postgres", "pools", *DAGSTER_SERVICES}
    assert services["postgres"]["image"].startswith("postgres:")
    for name in ("pools", *DAGSTER_SERVICES):
        build = services[name]["build"]
        assert (REPO / build["context"] / build["dockerfile"]).is_file()


def test_commands_start_the_code_server_webserver_and_daemon(services: dict) -> None:
    for name, module in (("user_code", "taxi_assets"), ("analytics_code", "taxi_assets.analytics")):
        assert services[name]["command"][:3] == ["dagster", "code-server", "start"]
        assert module in services[name]["command"]
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]


def test_the_pools_get_their_limits_once_before_the_daemon_starts(services: dict) -> None:
    """The daemon's first pass would not count a pool it had to create (shared/pools.py)."""
    pools = services["pools"]
    assert pools["command"] == ["python", "-m", "taxi_assets.shared.pools"]
    assert pools["restart"] == "no" and "healthcheck" not in pools  # a one-shot job
    assert pools["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    waits = services["daemon"]["depends_on"]["pools"]
    assert waits == {"condition": "service_completed_successfully"}


def test_every_service_has_a_healthcheck_and_waits_for_healthy_dependencies(
    services: dict,
) -> None:
    for name, service in services.items():
        if name != "pools":  # a one-shot job: the daemon waits for it to complete instead
            assert service["healthcheck"]["test"], name
    for name in ("user_code", "analytics_code"):
        assert services[name]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("webserver", "daemon"):
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        conditions.pop("pools", None)
        assert conditions == dict.fromkeys(
            ("postgres", "user_code", "analytics_code"), "service_healthy"
        )


def test_only_the_webserver_is_published_and_only_on_loopback(services: dict) -> None:
    published = {name: service.get("ports", []) for name, service in services.items()}
    assert published == {
        "postgres": [],
        "pools": [],
        "user_code": [],
        "analytics_code": [],
        "webserver": ["127.0.0.1:3000:3000"],
        "daemon": [],
    }


def test_services_get_every_variable_the_instance_workspace_and_code_read(
    services: dict,
) -> None:
    storage = env_names(REPO / "deploy" / "dagster.yaml")
    workspace = env_names(REPO / "deploy" / "workspace.yaml")
    assert storage >= {"DAGSTER_PG_HOST", "DAGSTER_PG_PASSWORD"}
    for name in ("pools", *DAGSTER_SERVICES):
        assert storage <= set(services[name]["environment"]), name
    for name in ("webserver", "daemon"):
        assert workspace <= set(services[name]["environment"]), name
    assert set(services["user_code"]["environment"]) >= CODE_SETTINGS


def test_the_warehouse_secret_and_the_lake_live_only_in_the_code_containers(
    services: dict,
) -> None:
    holders = [name for name, s in services.items() if "TAXI_PG_URL" in s.get("environment", {})]
    assert holders == ["user_code", "analytics_code"]
    assert "TAXI_LAKE_DIR" not in services["analytics_code"]["environment"]
    lake = services["user_code"]["environment"]["TAXI_LAKE_DIR"]
    assert f"lake:{lake}" in services["user_code"]["volumes"]
    assert "postgres_data:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_image_holds_the_instance_and_workspace_the_commands_name(services: dict) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "DAGSTER_HOME=/opt/dagster/home" in dockerfile
    assert "COPY deploy/dagster.yaml deploy/workspace.yaml /opt/dagster/home/" in dockerfile
    assert "/opt/dagster/home/workspace.yaml" in services["webserver"]["command"]
    assert "/opt/dagster/home/workspace.yaml" in services["daemon"]["command"]
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*")] == "*" and not any(
        "env" in p for p in ignored if p[:1] == "!"
    )


def test_the_wheel_and_the_image_hold_the_product_only() -> None:
    include = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = setuptools.find_packages(REPO, include=include["packages"]["find"]["include"])
    assert "taxi_assets" in packages
    assert [p for p in packages if not p.startswith("taxi_assets")] == []
    assert "taxi_testkit" not in (REPO / "Dockerfile").read_text()
    assert not any("taxi_testkit" in line for line in (REPO / ".dockerignore").read_text().split())


def test_env_example_names_nothing_taxi_assets_or_dagster_read() -> None:
    """The dagster CLI loads ./.env too: compose's names must not change local runs."""
    names = dotenv_names(REPO / ".env.example")
    read_by_dagster = env_names(REPO / "deploy" / "dagster.yaml") | {"DAGSTER_HOME"}
    assert names >= {"DAGSTER_DB_PASSWORD", "WAREHOUSE_DB_PASSWORD"}
    assert not {n for n in names if n.startswith("TAXI_")} and not names & read_by_dagster
    referenced = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    assert referenced <= names
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO, check=False)
    assert ignored.returncode == 0, ".env must be git-ignored"


def docker_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose is missing: apt-get install docker-compose (.ci/run does)")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}
    return subprocess.run(
        [tool, "--env-file", str(env_file), "-f", str(COMPOSE), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_docker_compose_config_resolves_with_the_example_env(tmp_path: Path) -> None:
    env_file = tmp_path / "compose.env"
    shutil.copy(REPO / ".env.example", env_file)
    done = docker_compose(env_file, "config")
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)["services"]
    url = resolved["user_code"]["environment"]["TAXI_PG_URL"]
    assert url == "postgresql://warehouse:change-me-warehouse@postgres:5432/warehouse"
    port = resolved["webserver"]["ports"][0]  # compose v1 keeps the short form, v2 expands it
    if isinstance(port, dict):
        port = f"{port['host_ip']}:{port['published']}:{port['target']}"
    assert port.removesuffix("/tcp") == "127.0.0.1:3000:3000"


def test_docker_compose_config_refuses_missing_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    done = docker_compose(empty, "config")
    assert done.returncode != 0
    assert "set DAGSTER_DB_PASSWORD in .env" in done.stderr


@pytest.fixture
def initialized_databases() -> Iterator[dict[str, str]]:
    """deploy/postgres-init.sh run against the local server with throwaway names."""
    suffix = uuid.uuid4().hex[:8]
    names = {
        "DAGSTER_DB_NAME": f"init_dagster_{suffix}",
        "DAGSTER_DB_USER": f"init_dagster_{suffix}",
        "WAREHOUSE_DB_NAME": f"init_wh_{suffix}",
        "WAREHOUSE_DB_USER": f"init_wh_{suffix}",
    }
    server = make_url(TEST_PG_URL)
    env = {
        **os.environ,
        **names,
        "DAGSTER_DB_PASSWORD": "dagster-secret",
        "WAREHOUSE_DB_PASSWORD": "warehouse-secret",
        "PGHOST": server.host or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        "POSTGRES_USER": server.username or "postgres",
        "POSTGRES_DB": "postgres",
    }
    try:
        done = subprocess.run(
            ["bash", str(REPO / "deploy" / "postgres-init.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        yield names
    finally:
        with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
            for db in (names["DAGSTER_DB_NAME"], names["WAREHOUSE_DB_NAME"]):
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
                )
            for role in (names["DAGSTER_DB_USER"], names["WAREHOUSE_DB_USER"]):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def connect_as(user: str, database: str) -> psycopg.Connection:
    url = make_url(TEST_PG_URL).set(username=user, database=database)
    return psycopg.connect(url.render_as_string(hide_password=False))


def test_init_script_gives_dagster_and_the_warehouse_each_its_own_database_and_user(
    initialized_databases: dict[str, str],
) -> None:
    names = initialized_databases
    dagster, warehouse = names["DAGSTER_DB_USER"], names["WAREHOUSE_DB_USER"]
    with connect_as(warehouse, names["WAREHOUSE_DB_NAME"]) as conn:
        conn.execute("CREATE TABLE yellow_taxi_probe (n int)")  # the owner may create tables
    with connect_as(dagster, names["DAGSTER_DB_NAME"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (dagster,)
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        connect_as(warehouse, names["DAGSTER_DB_NAME"])
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        connect_as(dagster, names["WAREHOUSE_DB_NAME"])
