"""The four measured ways of loading one month, each in processes of its own.

(a) the lesson's pandas loader, (b) `gunzip -c | psql \\copy`, (c) the warehouse step through
the warehouse writer (download excluded), (d) `dagster job execute` of yellow_taxi_job end to end.
Each returns a dict with at least `seconds`.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from bench.workspace import fresh_copy_table, fresh_schema
from taxi_assets.datasets import YELLOW
from taxi_assets.mechanics.dataset_spec import DatasetSpec

REPO = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).with_name("dagster"))
LESSON_TABLE = "lesson_yellow_taxi"
COPY_TABLE = "copy_yellow_taxi"
LOAD_SCHEMA = "platform_step"
JOB_SCHEMA = "platform_job"


@dataclass(frozen=True)
class Target:
    """What every method loads: one month, its lake file, the mirror, the throwaway database."""

    month: str
    rows: int
    lake_dir: Path
    lake_file: Path
    mirror_url: str
    db_url: str
    workdir: Path
    lesson_driver: str = "psycopg2"
    dataset: DatasetSpec = YELLOW


def _python(module: str, *args: str, timeout: float) -> dict:
    """Run `python -m module args` from the repo root; return its last stdout line as JSON."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def lesson(target: Target) -> dict:
    """(a) pandas read_csv chunks + to_sql into its own table."""
    args = ["--pg", target.db_url, "--table", LESSON_TABLE, "--csv", str(target.lake_file)]
    return _python("bench.lesson", *args, "--driver", target.lesson_driver, timeout=3600)


def psql_copy(target: Target) -> dict:
    """(b) `gunzip -c file | psql -c "\\copy t (cols) from stdin (format csv, header true)"`."""
    fresh_copy_table(target.db_url, COPY_TABLE, target.month, target.dataset)
    columns = ", ".join(f'"{c.name}"' for c in target.dataset.columns)
    command = f"\\copy {COPY_TABLE} ({columns}) from stdin with (format csv, header true)"
    started = time.monotonic()
    gunzip = subprocess.Popen(["gunzip", "-c", str(target.lake_file)], stdout=subprocess.PIPE)
    psql = subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", target.db_url, "-c", command],
        stdin=gunzip.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    gunzip.wait()
    seconds = time.monotonic() - started
    if psql.returncode or gunzip.returncode:
        raise RuntimeError(f"psql \\copy failed: {psql.stderr[-2000:]}")
    return {"seconds": round(seconds, 3)}


def load_step(target: Target, month: str | None = None, lake_dir: Path | None = None) -> dict:
    """(c) the warehouse step alone, the file already in the lake; memory measured too."""
    fresh_schema(target.db_url, LOAD_SCHEMA)
    args = ["--month", month or target.month, "--lake", str(lake_dir or target.lake_dir)]
    args += ["--dataset", target.dataset.name]
    figures = _python(
        "bench.load_step", *args, "--pg", target.db_url, "--schema", LOAD_SCHEMA, timeout=1800
    )
    return {"seconds": figures["load_seconds"], **figures}


def dbt_models(target: Target, reps: int) -> dict:
    """(e) the month's dbt models, on the schema (c) loaded last (bench/dbt_models.py)."""
    args = ["--month", target.month, "--mirror", target.mirror_url, "--pg", target.db_url]
    args += ["--schema", LOAD_SCHEMA, "--yellow-rows", str(target.rows), "--reps", str(reps)]
    return _python("bench.dbt_models", *args, timeout=3600)


def job_env(target: Target, home: Path, lake: Path, schema: str) -> dict[str, str]:
    """Environment for the dagster CLI: its own DAGSTER_HOME, lake and schema; no .env reliance."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TAXI_SOURCE_URL": target.mirror_url,
        "TAXI_LAKE_DIR": str(lake),
        "TAXI_PG_URL": target.db_url,
        "TAXI_PG_SCHEMA": schema,
    }


def execute_job(month: str, env: dict[str, str]) -> float:
    """`dagster job execute -j yellow_taxi_job` for one month; its wall time in seconds."""
    tags = json.dumps({"dagster/partition": month})
    command = [DAGSTER, "job", "execute", "-m", "taxi_assets", "-j", "yellow_taxi_job"]
    started = time.monotonic()
    done = subprocess.run(
        [*command, "--tags", tags],
        cwd=env["DAGSTER_HOME"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"dagster job execute {month} failed: {done.stderr[-3000:]}")
    return seconds


def cli_env(home: Path, mirror_url: str, lake: Path, db_url: str) -> dict[str, str]:
    """The environment a user's `dagster` command runs in, pointed at the bench's parts."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TAXI_SOURCE_URL": mirror_url,
        "TAXI_LAKE_DIR": str(lake),
        "TAXI_PG_URL": db_url,
        "TAXI_PG_SCHEMA": "public",
    }


def dagster_home(scratch: Path, instance_yaml: str) -> Path:
    """A DAGSTER_HOME with `instance_yaml` and its storage already created, as a user's is."""
    home = scratch / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
    return home


def job(target: Target) -> dict:
    """(d) `dagster job execute` end to end: download from the loopback mirror, then load."""
    fresh_schema(target.db_url, JOB_SCHEMA)
    with tempfile.TemporaryDirectory(dir=target.workdir) as scratch:
        home = dagster_home(Path(scratch), (REPO / "dagster.yaml").read_text())
        env = job_env(target, home, Path(scratch) / "lake", JOB_SCHEMA)
        seconds = execute_job(target.month, env)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            shown = ui_figures(instance, target.month)
    return {"seconds": round(seconds, 3), "ui": shown}


def ui_figures(instance: dg.DagsterInstance, month: str) -> dict:
    """The duration and rate metadata the UI shows for the month's latest materializations."""
    shown = {}
    for asset, keys in UI_KEYS.items():
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[month]), limit=1
        ).records
        metadata = records[0].asset_materialization.metadata if records else {}  # type: ignore[union-attr]
        shown[asset] = {k: metadata[k].value for k in keys if k in metadata}
    return shown


UI_KEYS = {
    "raw_csv": ("download_seconds", "download_mb_per_second", "download_rows_per_second"),
    "yellow_taxi": ("load_seconds", "rows_per_second", "dagster/row_count"),
}
