"""A month's analytics against that month's loads, through the commands users run.

    python -m bench.analytics_month                   # 2021-03 at its published sizes
    python -m bench.analytics_month --scale 0.0005    # about 1,000 yellow rows

Generates the month of yellow, green and FHV (their published sizes times --scale), serves them
on loopback and, in a throwaway database, times the three loads through their jobs (`dagster
job execute -j <dataset>_taxi_job`), loads the zones and the dimensions, then the month's
analytics through `dagster job execute -j analytics_monthly_job` twice (the first build, then
a rebuild of the same month). For the analytics it also reports the step's own time (from its
STEP_START to its STEP_SUCCESS, dbt's start included) and the month's dead tuples after the
rebuild. Prints one JSON document; every figure is taken with the load average beside it.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import psycopg

from bench.methods import REPO, cli_env, dagster_home
from bench.stats import load_average
from taxi_assets.datasets import FHV, GREEN, YELLOW
from taxi_testkit.cluster import throwaway_database
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.zones import write_zones

BIN = Path(sys.executable).parent
MONTH = "2021-03"
# 2021-03 as the issue measured it where the mirror's sizes are not declared (green, FHV).
FALLBACK_ROWS = {"yellow": 1_925_152, "green": 80_000, "fhv": 600_000}


def _run(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
        )
    return round(time.monotonic() - started, 2)


def _job(location: str, job: str, month: str) -> list[str]:
    tags = json.dumps({"dagster/partition": month})
    return [str(BIN / "dagster"), "job", "execute", "-m", location, "-j", job, "--tags", tags]


def _last_step(home: Path, job: str) -> tuple[float, dict[str, float]]:
    """STEP_START to STEP_SUCCESS of the latest run of `job`, and dbt's own seconds per model
    (its materializations' "Execution Duration"), from the instance's event log."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(dg.RunsFilter(job_name=job), limit=1)[0]
        events = instance.all_logs(run.run_id)
    times = {e.dagster_event_type: e.timestamp for e in events if e.is_dagster_event}
    models = {}
    for entry in events:
        if entry.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = entry.asset_materialization
            duration = materialization.metadata.get("Execution Duration")  # type: ignore[union-attr]
            if duration is not None:
                models[materialization.asset_key.to_user_string()] = round(float(duration.value), 2)  # type: ignore[union-attr]
    step = times[dg.DagsterEventType.STEP_SUCCESS] - times[dg.DagsterEventType.STEP_START]
    return round(step, 2), models


def _dead_tuples(db_url: str) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("select pg_stat_force_next_flush()")
        row = conn.execute(
            "select coalesce(sum(n_dead_tup), 0) from pg_stat_user_tables "
            "where relname like 'stg_%' or relname like 'fct_%'"
        ).fetchone()
    return int(row[0]) if row else 0


def measure(args: argparse.Namespace, scratch: Path) -> dict:
    mirror = scratch / "mirror"
    rows = {
        spec.name: max(
            100,
            round((spec.published_rows_in(args.month) or FALLBACK_ROWS[spec.name]) * args.scale),
        )
        for spec in (YELLOW, GREEN, FHV)
    }
    for spec in (YELLOW, GREEN, FHV):
        write_month(args.month, rows[spec.name], mirror, spec=spec)
    write_zones(mirror)
    home = dagster_home(scratch, (REPO / "dagster.yaml").read_text())
    results: dict = {"month": args.month, "rows": rows}
    with throwaway_database(args.pg, "taxi_bench") as db_url, serve_mirror(mirror) as url:
        env = {**cli_env(home, url, scratch / "lake", db_url), "PYTHONWARNINGS": "ignore"}
        results["load_average_before"] = load_average()
        loads = {
            spec.name: _run(_job("taxi_assets", f"{spec.table}_job", args.month), env)
            for spec in (YELLOW, GREEN, FHV)
        }
        results["loads_seconds"] = {**loads, "total": round(sum(loads.values()), 2)}
        dagster = str(BIN / "dagster")
        _run([dagster, "asset", "materialize", "-m", "taxi_assets", "--select", "taxi_zones"], env)
        dimensions = [dagster, "asset", "materialize", "-m", "taxi_assets.analytics"]
        _run([*dimensions, "--select", "dim_zones,payment_type_lookup"], env)
        analytics = _job("taxi_assets.analytics", "analytics_monthly_job", args.month)
        for label in ("build", "rebuild"):
            wall = _run(analytics, env)
            step, models = _last_step(home, "analytics_monthly_job")
            results[f"analytics_{label}"] = {
                "wall_seconds": wall,
                "step_seconds": step,
                "dbt_seconds_per_model": models,
            }
        results["dead_tuples_after_rebuild"] = _dead_tuples(db_url)
        results["load_average_after"] = load_average()
    total = results["loads_seconds"]["total"]
    for label in ("build", "rebuild"):
        results[f"analytics_{label}"]["ratio_to_loads"] = round(
            results[f"analytics_{label}"]["wall_seconds"] / total, 3
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", default=MONTH)
    parser.add_argument("--scale", type=float, default=1.0, help="share of the published sizes")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as scratch:
        print(json.dumps(measure(args, Path(scratch)), indent=2))


if __name__ == "__main__":
    main()
