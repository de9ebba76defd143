"""The TLC's Parquet path measured: a yellow 2024-01-size month and a full-size fhvhv month.

    python -m bench.parquet                          # both, at full size (a quiet machine)
    python -m bench.parquet --yellow-rows 200000 --fhvhv-rows 0 --reps 1   # a quick look

For each month, in processes of their own and interleaved, each after an untimed CHECKPOINT:
(b) `psql \\copy` of the same rows written as CSV by Arrow's CSV writer (the Parquet file
converted beforehand, not timed), (b2) the same with the bytes the loader streams (COPY text,
whole-second timestamps), to show what the wire format alone is worth, (c) the step alone
(bench/load_step.py: the file already in the lake; its peak resident memory over its own
footprint after imports, the issue's 150 MB bound), (d) `dagster job execute` of the dataset's
job end to end (download from the loopback TLC layout, then the load). Prints medians and the
ratios c/b (at most 1) and d/b (at most 2); JSON under bench/results/.
"""

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pa_csv

from bench import methods
from bench.stats import summary
from bench.workspace import fresh_copy_table, publish, run_in_scratch, throwaway_database
from taxi_assets.datasets import FHVHV, YELLOW
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.months import parse_month
from taxi_assets.mechanics.parquet import cast_batches, text_chunks
from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.trips.assets import fetch_month
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.tlc import TLC_FOLDER, write_tlc_month

_log = logging.getLogger("bench.parquet")
YELLOW_MONTH, FHVHV_MONTH = "2024-01", "2019-03"  # the homework's month; the largest file


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--yellow-rows", type=int, default=2_964_624, help="0 skips yellow")
    parser.add_argument(
        "--fhvhv-rows", type=int, default=FHVHV.published_rows_in(FHVHV_MONTH), help="0 skips"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    return parser.parse_args(argv)


def as_csv(parquet: Path, spec: DatasetSpec, month: str, out: Path) -> Path:
    """The month's rows as Arrow's CSV writer renders them, cast to the table's types (what (b)
    loads), written once, untimed."""
    where = str(parquet)
    with out.open("wb") as handle:
        for number, batch in enumerate(cast_batches(parquet, spec, parse_month(month), where)):
            pa_csv.write_csv(batch, handle, pa_csv.WriteOptions(include_header=number == 0))
    return out


def as_stream(parquet: Path, spec: DatasetSpec, month: str, out: Path) -> Path:
    """The bytes the loader streams to COPY for the month, in COPY's text format (what (b2)
    loads), untimed."""
    with out.open("wb") as handle:
        for chunk in text_chunks(parquet, spec, parse_month(month), str(parquet)):
            handle.write(chunk)
    return out


def checkpoint(db_url: str) -> None:
    """Flush what the previous method wrote, untimed: without it a checkpoint falls inside
    whichever run crosses max_wal_size (a first run took 10.6 s against 6.8-7.6 s)."""
    subprocess.run(["psql", "-q", "-d", db_url, "-c", "CHECKPOINT"], check=True)
    os.sync()  # and the page cache's other dirty pages (the converted files, the lake)


def psql_copy(
    db_url: str, spec: DatasetSpec, month: str, csv: Path, options: str = "format csv, header true"
) -> dict:
    """(b) `psql \\copy` of the CSV (or, b2, of the loader's COPY text) into a fresh table of
    the warehouse's columns."""
    table = f"copy_{spec.table}"
    fresh_copy_table(db_url, table, month, spec)
    columns = ", ".join(f'"{c.name}"' for c in spec.parquet_columns)
    command = f"\\copy {table} ({columns}) from '{csv}' with ({options})"
    started = time.monotonic()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", db_url, "-c", command], check=True)
    return {"seconds": round(time.monotonic() - started, 3)}


def job(target: methods.Target, tlc_url: str) -> dict:
    """(d) `dagster job execute` of the dataset's job for the month, a fresh lake and home."""
    methods.fresh_schema(target.db_url, methods.JOB_SCHEMA)
    with tempfile.TemporaryDirectory(dir=target.workdir) as scratch:
        home = methods.dagster_home(Path(scratch), (methods.REPO / "dagster.yaml").read_text())
        env = methods.job_env(target, home, Path(scratch) / "lake", methods.JOB_SCHEMA)
        env["TAXI_TLC_URL"] = tlc_url
        tags = json.dumps({"dagster/partition": target.month})
        command = [methods.DAGSTER, "job", "execute", "-m", "taxi_assets"]
        command += ["-j", target.dataset.job_name, "--tags", tags]
        started = time.monotonic()
        subprocess.run(command, cwd=home, env=env, capture_output=True, check=True, timeout=3600)
    return {"seconds": round(time.monotonic() - started, 3)}


def measure(spec: DatasetSpec, month: str, rows: int, args: argparse.Namespace, db: str) -> dict:
    """(b), (c), (d) interleaved for one month; their summaries and ratios."""
    parquet = write_tlc_month(month, rows, args.workdir / "tlc", spec)
    csv = as_csv(parquet, spec, month, args.workdir / f"{spec.name}-{month}.csv")
    stream = as_stream(parquet, spec, month, args.workdir / f"{spec.name}-{month}.text")
    with serve_mirror(args.workdir / "tlc") as url:
        tlc_url, lake_dir = f"{url}/{TLC_FOLDER}", args.workdir / f"lake-{spec.name}"
        lake = DataLake(root=str(lake_dir)).lake()
        fetch_month(spec, month, TaxiSource(tlc_url=tlc_url), lake, _log)
        target = methods.Target(month, rows, lake_dir, parquet, url, db, args.workdir, dataset=spec)
        runs: dict[str, list[dict]] = {"b": [], "b2": [], "c": [], "d": []}
        timed = {
            "b": lambda: psql_copy(db, spec, month, csv),
            "b2": lambda: psql_copy(db, spec, month, stream, "format text"),
            "c": lambda: methods.load_step(target),
            "d": lambda: job(target, tlc_url),
        }
        for _ in range(args.reps):
            for name, method in timed.items():
                checkpoint(db)
                runs[name].append(method())
    figures = {name: summary(r) for name, r in runs.items()}
    copy = figures["b"]["median"]
    return {
        "rows": rows,
        "methods": figures,
        "ratio_step_to_copy": round(figures["c"]["median"] / copy, 2),
        "ratio_step_to_stream_copy": round(figures["c"]["median"] / figures["b2"]["median"], 2),
        "ratio_job_to_copy": round(figures["d"]["median"] / copy, 2),
        "max_rss_growth_mb": max(r["rss_growth_mb"] for r in runs["c"]),
    }


def run(args: argparse.Namespace) -> dict:
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    months = {}
    plan = ((YELLOW, YELLOW_MONTH, args.yellow_rows), (FHVHV, FHVHV_MONTH, args.fhvhv_rows))
    with throwaway_database(args.pg) as db:
        for spec, month, rows in plan:
            if rows:
                months[f"{spec.name} {month}"] = measure(spec, month, rows, args, db)
    return {"started_utc": started, "months": months}


def render(results: dict) -> str:
    lines = [
        "| month | rows | (b) psql \\copy s | (b2) psql, stream's bytes s | (c) step s | (d) job s "
        "| c/b | c/b2 | d/b | step +MB |"
    ]
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results["months"].items():
        m = r["methods"]
        medians = " | ".join(f"{m[k]['median']:.2f}" for k in ("b", "b2", "c", "d"))
        lines.append(
            f"| {name} | {r['rows']:,} | {medians} | {r['ratio_step_to_copy']} | "
            f"{r['ratio_step_to_stream_copy']} | {r['ratio_job_to_copy']} | "
            f"{r['max_rss_growth_mb']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    results = run_in_scratch(run, args)
    publish(results, render(results), args.out, "bench-parquet")


if __name__ == "__main__":
    main()
