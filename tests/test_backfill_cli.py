"""`dagster asset materialize --partition-range`: three months in one run, each month on its own."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.datasets import YELLOW
from taxi_assets.trips.checks import BLOCKING_CHECKS
from tests.support.instance_events import latest_metadata_by_month
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import count_rows

DAGSTER = str(Path(sys.executable).with_name("dagster"))
pytestmark = pytest.mark.cli


def materializations(instance: dg.DagsterInstance, asset: str, month: str) -> int:
    """How many materialization events the instance holds for the month of `asset`."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[month]), limit=100
    ).records
    return len(records)


def check_evaluations(instance: dg.DagsterInstance) -> list[dg.AssetCheckEvaluation]:
    """Every check evaluation of the instance's one run."""
    (run,) = instance.get_runs()
    events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return [e.dagster_event.asset_check_evaluation_data for e in events if e.dagster_event]


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


def test_a_range_records_each_month_once_and_each_check_names_its_month(
    cli_env: dict[str, str],
) -> None:
    done = materialize_range(cli_env, "2021-01...2021-02")
    assert done.returncode == 0, done.stderr[-3000:]
    months = ["2021-01", "2021-02"]
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        counts = {
            (asset, month): materializations(instance, asset, month)
            for asset in ("raw_csv", "yellow_taxi")
            for month in months
        }
        evaluations = check_evaluations(instance)
    assert set(counts.values()) == {1}
    assert sorted({e.partition for e in evaluations}) == months
    checks_per_month = len(BLOCKING_CHECKS) + len(YELLOW.warnings)
    pairs = {(e.check_name, e.partition) for e in evaluations}
    assert len(evaluations) == len(pairs) == len(months) * checks_per_month
    for evaluation in evaluations:
        assert evaluation.metadata["month"].value == evaluation.partition
        assert (evaluation.description or "").startswith(f"{evaluation.partition}:")
