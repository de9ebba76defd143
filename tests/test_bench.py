"""The benchmark runs end to end at a tiny size (no timings asserted), and its telemetry exists."""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from sqlalchemy.engine import make_url

from taxi_assets import defs
from taxi_assets.assets import raw_csv, yellow_taxi
from tests.conftest import MONTH_ROWS, TEST_PG_URL

REPO = Path(__file__).resolve().parent.parent
TINY = ["--rows", "2000", "--reps", "1", "--lesson-reps", "1", "--memory-rows", "1000,2000"]
TINY_BACKFILL = ["--backfill-scale", "0.001", "--backfill-reps", "1", "--dbt-reps", "1"]


def bench_databases() -> set[str]:
    with psycopg.connect(TEST_PG_URL) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'taxi_bench_%'")
        return {name for (name,) in rows}


@pytest.fixture
def bench_results(tmp_path: Path) -> dict:
    """Run `python -m bench` at a tiny size on the test server; return its JSON."""
    server = make_url(TEST_PG_URL).set(database=None).render_as_string(hide_password=False)
    out, before = tmp_path / "bench.json", bench_databases()
    args = [*TINY, *TINY_BACKFILL, "--pg", server, "--out", str(out), "--workdir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert bench_databases() <= before  # ours is gone (others' benches may end meanwhile)
    return json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.cli
def test_bench_measures_every_method_and_reports_ratios(bench_results: dict) -> None:
    assert {name: s["n"] for name, s in bench_results["methods"].items()} == dict.fromkeys(
        "abcd", 1
    )
    assert set(bench_results["ratios"]) == {"(c)/(b)", "(d)/(b)", "(a)/(c)"}
    assert bench_results["methods"]["c"]["runs"][0]["rows"] == 2000
    shown = bench_results["methods"]["d"]["runs"][0]["ui"]
    assert shown["yellow_taxi"]["dagster/row_count"] == 2000
    assert {"download_seconds", "download_mb_per_second"} <= set(shown["raw_csv"])
    assert set(bench_results["memory"]["months"]) == {"2020-04", "2019-01"}
    assert len(bench_results["backfill"]["modes"]) == 3
    assert set(bench_results["dbt"]["builds"][0]["models"]) >= {"fct_trips", "stg_yellow_tripdata"}


def test_raw_csv_records_download_then_verify_time(resources: dict) -> None:
    first = dg.materialize([raw_csv, yellow_taxi], partition_key="2021-02", resources=resources)
    again = dg.materialize([raw_csv], partition_key="2021-02", resources=resources)
    downloaded = first.asset_materializations_for_node("raw_csv")[0].metadata
    reused = again.asset_materializations_for_node("raw_csv")[0].metadata
    assert downloaded["download_mb_per_second"].value > 0
    assert downloaded["download_rows_per_second"].value > 0
    assert downloaded["download_seconds"].value > 0 and "download_seconds" not in reused
    assert reused["verify_seconds"].value > 0
    loaded = first.asset_materializations_for_node("yellow_taxi")[0].metadata
    assert loaded["load_seconds"].value > 0
    assert loaded["rows_per_second"].value > MONTH_ROWS["2021-02"] / 600


def test_steps_of_a_run_share_the_run_process() -> None:
    assert defs.resolve_job_def("yellow_taxi_job").executor_def.name == "in_process"
