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
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import TEST_PG_URL
from tests.support.trips import raw_csv, yellow_taxi

REPO = Path(__file__).resolve().parent.parent
# Two runs of the bench, each one part of it at a tiny size, so that side by side (xdist) they
# take half the time: the four methods and the memory check; the backfill modes.
TINY_METHODS = ["--reps", "1", "--lesson-reps", "1", "--memory-rows", "1000,2000"]
TINY_METHODS += ["--dbt-reps", "1"]  # and the dbt models of the month (c) loaded
TINY_BACKFILL = ["--reps", "0", "--lesson-reps", "0", "--memory-rows", "", "--dbt-reps", "0"]


def bench_databases() -> set[str]:
    with psycopg.connect(TEST_PG_URL) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'taxi_bench_%'")
        return {name for (name,) in rows}


def run_bench(tmp_path: Path, part: list[str], backfill_scale: str) -> dict:
    """Run `python -m bench` at a tiny size on the test server; return its JSON."""
    server = make_url(TEST_PG_URL).set(database=None).render_as_string(hide_password=False)
    out = tmp_path / "bench.json"
    args = [*part, "--rows", "2000", "--backfill-scale", backfill_scale, "--backfill-reps", "1"]
    args += ["--pg", server, "--out", str(out), "--workdir", str(tmp_path)]
    run_module("bench", args)
    results = json.loads(out.read_text())
    assert results["database"].startswith("taxi_bench_")
    assert results["database"] not in bench_databases()  # the throwaway database is gone
    return results


def run_module(module: str, args: list[str]) -> str:
    """`python -m <module> args` from the repository root; its stdout once it succeeded."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.cli
def test_bench_measures_every_method_and_reports_ratios(tmp_path: Path) -> None:
    bench_results = run_bench(tmp_path, TINY_METHODS, backfill_scale="0")
    assert {name: s["n"] for name, s in bench_results["methods"].items()} == dict.fromkeys(
        "abcd", 1
    )
    assert set(bench_results["ratios"]) == {"(c)/(b)", "(d)/(b)", "(a)/(c)"}
    assert bench_results["methods"]["c"]["runs"][0]["rows"] == 2000
    shown = bench_results["methods"]["d"]["runs"][0]["ui"]
    assert shown["yellow_taxi"]["dagster/row_count"] == 2000
    assert {"download_seconds", "download_mb_per_second"} <= set(shown["raw_csv"])
    assert set(bench_results["memory"]["months"]) == {"2020-04", "2019-01"}
    assert set(bench_results["dbt"]["builds"][0]["models"]) >= {"fct_trips", "stg_yellow_tripdata"}


@pytest.mark.slow
@pytest.mark.cli
def test_bench_times_the_backfill_one_and_two_runs_at_a_time(tmp_path: Path) -> None:
    modes = run_bench(tmp_path, TINY_BACKFILL, backfill_scale="0.001")["backfill"]["modes"]
    assert len(modes) == 3
    assert all(mode["n"] == 1 and mode["median"] > 0 for mode in modes.values())


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


@pytest.mark.slow
@pytest.mark.cli
def test_the_scale_bench_loads_the_course_set_beside_psql(tmp_path: Path) -> None:
    """One dataset's part of the course (FHV 2019, 12 months) through the course command, in
    two interleaved rounds: the whole set's 60 months would only repeat the same path."""
    out = tmp_path / "scale.json"
    args = ["--scale", "0.0002", "--datasets", "fhv", "--reps", "2", "--pg", TEST_PG_URL]
    args += ["--out", str(out), "--workdir", str(tmp_path)]
    printed = run_module("bench.scale", args)
    results = json.loads(out.read_text())
    assert results["warehouse"]["rows"] == results["rows"] and results["months"] == 12
    assert set(results["rows"]) == {"fhv"} and len(results["course_seconds_each_rep"]) == 2
    assert results["one_stream"]["seconds"] > 0 and results["two_streams"]["seconds"] > 0
    cpu = results["course"]
    assert cpu["busy_core_seconds"] > 0 and cpu["postgres_core_seconds"] > 0
    assert cpu["children_core_seconds"] > 0 and "CPU work, core-seconds" in printed
    assert results["course"]["peak_process_rss_mb"] > results["import_footprint_mb"] / 2
    assert "ratios: course / one stream" in printed
    assert results["database"] not in bench_databases()  # the throwaway database is gone
