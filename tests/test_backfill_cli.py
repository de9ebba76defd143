"""`dagster asset materialize --partition-range`: three months in one run, each month on its own."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tests.conftest import MONTH_ROWS, count_rows
from tests.instance_events import latest_metadata_by_month

DAGSTER = str(Path(sys.executable).with_name("dagster"))
pytestmark = pytest.mark.cli


def materialize_range(cli_env: dict[str, str], months: str) -> subprocess.CompletedProcess:
    args = ["asset", "materialize", "-m", "taxi_assets", "--select", "raw_csv,yellow_taxi"]
    return subprocess.run(
        [DAGSTER, *args, "--partition-range", months],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_range_is_one_run_with_every_month_exact(cli_env: dict[str, str], pg_schema: str) -> None:
    done = materialize_range(cli_env, "2021-01...2021-03")
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        assert len(instance.get_run_records()) == 1
        warehouse = latest_metadata_by_month(instance, "yellow_taxi")
        lake = latest_metadata_by_month(instance, "raw_csv")
    for month, rows in MONTH_ROWS.items():
        table = f"yellow_taxi_{month.replace('-', '_')}"
        assert count_rows(pg_schema, table) == rows
        assert warehouse[month]["dagster/row_count"] == rows
        assert warehouse[month]["dagster/table_name"] == f"{pg_schema}.{table}"
        assert lake[month]["dagster/row_count"] == rows
