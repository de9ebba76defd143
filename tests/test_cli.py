"""The real `dagster` CLI, as CI and users run it, against the loopback mirror and Postgres."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import count_rows

DAGSTER = str(Path(sys.executable).with_name("dagster"))
pytestmark = pytest.mark.cli
# A Python warning ("BetaWarning: ...") or a Dagster log line at WARNING level.
WARNING = re.compile(r"\w*Warning: .*|.* - WARNING - .*")
# A line of `python -X importtime`: "import time: <self> | <cumulative> | <module>".
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s+([A-Za-z_]\w*)", re.MULTILINE)


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DAGSTER, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_definitions_validate(cli_env: dict[str, str]) -> None:
    done = run_cli(["definitions", "validate", "-m", "taxi_assets"], cli_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Validation successful for code location taxi_assets" in done.stdout + done.stderr


@pytest.mark.parametrize("command", [["asset", "list"], ["job", "list"]])
def test_starting_the_code_location_prints_no_warning(
    cli_env: dict[str, str], command: list[str]
) -> None:
    done = run_cli([*command, "-m", "taxi_assets"], cli_env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "yellow_taxi" in done.stdout
    assert WARNING.findall(done.stdout + done.stderr) == []


def test_the_generator_help_prints_no_warning(cli_env: dict[str, str]) -> None:
    generate = [sys.executable, "-m", "taxi_testkit.generate", "--help"]
    done = subprocess.run(generate, env=cli_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage:")
    assert WARNING.findall(done.stdout + done.stderr) == []


def test_job_execute_loads_the_tagged_month_without_importing_dbt(
    cli_env: dict[str, str], pg_schema: str
) -> None:
    tags = json.dumps({"dagster/partition": "2021-03"})
    done = run_cli(
        ["job", "execute", "-m", "taxi_assets", "-j", "yellow_taxi_job", "--tags", tags],
        {**cli_env, "PYTHONPROFILEIMPORTTIME": "1"},  # every import, on stderr
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert count_rows(pg_schema, "yellow_taxi_2021_03") == MONTH_ROWS["2021-03"]
    imported = IMPORTED.findall(done.stderr)
    assert "dagster" in imported and "psycopg" in imported  # the profile was taken
    assert not {"dbt", "dagster_dbt"} & set(imported)


def test_job_execute_refuses_a_hostile_partition_key(
    cli_env: dict[str, str], pg_schema: str, lake_dir: Path
) -> None:
    tags = json.dumps({"dagster/partition": "../../etc"})
    done = run_cli(
        ["job", "execute", "-m", "taxi_assets", "-j", "yellow_taxi_job", "--tags", tags], cli_env
    )
    assert done.returncode != 0
    assert not lake_dir.exists() or not any(lake_dir.rglob("*.gz"))
