"""Three months through Celery workers on the S3 lake: wall time with one worker and with two.

    .venv/bin/python bench/celery_backfill.py                      # real sizes (4.7 M rows)
    .venv/bin/python bench/celery_backfill.py --rows 3000,2500,4000 # a quick look

Everything runs on this machine: the loopback mirror, moto's S3 server, the local RabbitMQ and
Postgres. Each configuration starts from an empty bucket (downloads included) and loads into a
throwaway schema. Two shapes are timed, as `dagster job execute` runs them (process start
included): the backfill Dagster makes of three months under BackfillPolicy.single_run() (one
run: raw_csv then yellow_taxi, each over the range) and three one-month runs at once (what
separate backfill runs or schedule ticks give). Baseline: the code location's
executor without Celery (the in-process one since it became the default in definitions.py).
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import s3fs
from psycopg import sql

from taxi_testkit.cluster import (
    REPO_ROOT,
    CeleryWorkers,
    delete_queue,
    private_celery_config,
    throwaway_database,
    throwaway_schema,
    write_instance,
)
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.objectstore import aws_env, serve_object_store

MONTHS = ["2021-01", "2021-02", "2021-03"]
REAL_ROWS = "1369765,1371708,1925152"
PG_URL = os.environ.get("TAXI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_URL = PG_URL.rsplit("/", 1)[0] + "/postgres"
BROKER = os.environ.get("TAXI_CELERY_BROKER", "pyamqp://guest@127.0.0.1:5672//")
DAGSTER = str(Path(sys.executable).with_name("dagster"))
EXPECTED_ROWS: dict[str, int] = {}


def execute(env: dict[str, str], tags: dict[str, str]) -> subprocess.Popen:
    args = ["job", "execute", "-m", "taxi_assets", "-j", "yellow_taxi_job"]
    return subprocess.Popen(
        [DAGSTER, *args, "--tags", json.dumps(tags)],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def timed(env: dict[str, str], shape: str) -> float:
    """Seconds for one shape of the three-month load; raises if any run fails."""
    if shape == "one ranged run":
        range_tags = {
            "dagster/asset_partition_range_start": MONTHS[0],
            "dagster/asset_partition_range_end": MONTHS[-1],
        }
        tag_sets = [range_tags]
    else:
        tag_sets = [{"dagster/partition": m} for m in MONTHS]
    start = time.perf_counter()
    runs = [execute(env, tags) for tags in tag_sets]
    for run in runs:
        _, err = run.communicate(timeout=3600)
        if run.returncode:
            raise RuntimeError(f"{shape} failed:\n{err[-3000:]}")
    return time.perf_counter() - start


def run_configuration(base_env: dict[str, str], endpoint: str, workers: int, tmp: Path) -> dict:
    """Time both shapes with `workers` Celery workers (0: no Celery, the location's executor).

    Workers resolve settings from their own environment, so they get the same lake URL as the
    runs; the lake is emptied before each shape, so every shape downloads again.
    """
    results = {}
    fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing")
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    fs.mkdir(bucket)
    env = {**base_env, "TAXI_LAKE_DIR": f"s3://{bucket}/lake"}
    if workers == 0:
        env.pop("TAXI_EXECUTOR")
    config, queue = private_celery_config(tmp / f"celery-{workers}")
    env["TAXI_CELERY_CONFIG"] = str(config)
    with CeleryWorkers(env, tmp / f"logs-{workers}", config, queue) as pool:
        for n in range(workers):
            pool.start(f"bench{n + 1}")
        for shape in ("one ranged run", "three one-month runs at once"):
            if fs.exists(f"{bucket}/lake"):
                fs.rm(f"{bucket}/lake", recursive=True)
            results[shape] = timed(env, shape)
            check_counts(env)
    fs.rm(bucket, recursive=True)
    delete_queue(BROKER, queue)
    return results


def check_counts(env: dict[str, str]) -> None:
    """Every month's table holds exactly its file's rows (a bench of wrong work is no bench)."""
    with psycopg.connect(PG_URL) as conn:
        for month in MONTHS:
            table = sql.Identifier(env["TAXI_PG_SCHEMA"], f"yellow_taxi_{month.replace('-', '_')}")
            count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
            expected = EXPECTED_ROWS[month]
            if count is None or count[0] != expected:
                raise RuntimeError(f"{month}: {count} rows, expected {expected}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=REAL_ROWS, help="rows of 2021-01,2021-02,2021-03")
    parser.add_argument("--workers", default="0,1,2", help="worker counts (0: no Celery)")
    args = parser.parse_args()
    rows = [int(r) for r in args.rows.split(",")]
    EXPECTED_ROWS.update(zip(MONTHS, rows, strict=True))
    with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        for month, n in zip(MONTHS, rows, strict=True):
            write_month(month, n, tmp / "mirror")
        endpoint = stack.enter_context(serve_object_store())
        mirror = stack.enter_context(serve_mirror(tmp / "mirror"))
        storage = stack.enter_context(throwaway_database(ADMIN_URL))
        warehouse_schema = stack.enter_context(throwaway_schema(PG_URL, "bench"))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TAXI_", "AWS_"))},
            **aws_env(endpoint),
            "DAGSTER_HOME": str(write_instance(tmp / "home", storage)),
            "TAXI_EXECUTOR": "celery",
            "TAXI_CELERY_BROKER": BROKER,
            "TAXI_SOURCE_URL": mirror,
            "TAXI_PG_URL": PG_URL,
            "TAXI_PG_SCHEMA": warehouse_schema,
        }
        print(f"months {MONTHS} rows {rows}; {os.cpu_count()} CPUs; load {os.getloadavg()}")
        for workers in [int(w) for w in args.workers.split(",")]:
            label = f"{workers} worker(s)" if workers else "no Celery"
            for shape, seconds in run_configuration(env, endpoint, workers, tmp).items():
                print(f"{label:>18} | {shape:<30} | {seconds:6.1f} s | load {os.getloadavg()}")


if __name__ == "__main__":
    main()
