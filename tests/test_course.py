"""`python -m taxi_assets.course`: estimate, refuse what cannot fit, load, skip, compare totals."""

import subprocess
import sys

import dagster as dg
import pytest

from taxi_assets.cli.course import COURSE, spans
from taxi_assets.datasets import FHV, GREEN
from taxi_assets.shared.launch import launcher_of
from tests.support.mirror_months import DATASET_ROWS

pytestmark = pytest.mark.cli
GREEN_ROWS = sum(DATASET_ROWS[(GREEN, month)] for month in ("2019-10", "2019-11"))
FHV_ROWS = sum(DATASET_ROWS[(FHV, month)] for month in ("2019-12", "2020-01"))
SMALL_COURSE = [
    *("--part", f"green:2019-10..2019-11={GREEN_ROWS}"),
    *("--part", f"fhv:2019-12..2020-01={FHV_ROWS}"),
]


def course(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "taxi_assets.course", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def runs(env: dict[str, str]) -> int:
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        return len(instance.get_run_records())


def test_the_course_is_what_the_analytics_module_needs() -> None:
    plan = {p.spec.name: (p.first, p.last, p.published_rows) for p in COURSE}
    assert plan == {
        "yellow": ("2019-01", "2020-12", 109_047_518),
        "green": ("2019-01", "2020-12", 7_778_101),
        "fhv": ("2019-01", "2019-12", 43_244_696),
    }


def test_missing_months_go_as_contiguous_ranges() -> None:
    months = ["2019-01", "2019-02", "2019-03", "2019-04", "2019-05"]
    assert spans(["2019-01", "2019-02", "2019-04"], months) == [
        ("2019-01", "2019-02"),
        ("2019-04", "2019-04"),
    ]


def test_a_course_loads_compares_its_totals_and_a_rerun_skips_it(cli_env: dict) -> None:
    first = course(cli_env, *SMALL_COURSE)
    assert first.returncode == 0, first.stderr[-3000:]
    for rows in (GREEN_ROWS, FHV_ROWS):
        assert f"{rows:>13,} {rows:>13,}  match" in first.stdout
    assert runs(cli_env) == 2
    again = course(cli_env, *SMALL_COURSE)
    assert again.returncode == 0 and runs(cli_env) == 2
    assert "green: 0 months to load, 2 already loaded and verified" in again.stdout


def test_a_load_the_disk_cannot_hold_is_refused_before_anything_runs(cli_env: dict) -> None:
    done = course(cli_env, "--part", "yellow:2021-01..2021-03=99000000000000")
    assert done.returncode != 0 and "refusing to start: it needs about" in done.stderr
    assert runs(cli_env) == 0


def test_the_datasets_load_side_by_side(cli_env: dict) -> None:
    done = course(cli_env, *SMALL_COURSE)
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        records = instance.get_run_records()
    windows = [(r.start_time, r.end_time) for r in records]
    assert len(windows) == 2
    assert {launcher_of(r.dagster_run.tags) for r in records} == {"course"}  # visible in the UI
    assert max(start for start, _ in windows) < min(end for _, end in windows)  # overlapping
