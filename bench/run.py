"""One command that measures a month's load four ways and prints medians, ranges and ratios.

    python -m bench                      # the documented full run (make bench)
    python -m bench --rows 2000 --reps 1 --memory-rows 1000,2000 --backfill-scale 0.001

Generates months with the project's generator, serves them on loopback, works in a throwaway
database on the server given by --pg, and writes every figure as JSON (--out).
"""

import argparse
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import methods
from bench.backfill import backfill
from bench.methods import Target
from bench.report import render
from bench.stats import load_average, machine, memory_verdict, ratios, summary
from bench.workspace import generate, publish, run_in_scratch, throwaway_database, warm_lake
from taxi_assets.datasets import LESSON_DATASET
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.zones import write_zones

_log = logging.getLogger("bench")
MONTH = "2021-03"
MEMORY_MONTHS = ("2020-04", "2019-01")  # a small month and a 2019-sized one
BACKFILL_MONTHS = ("2021-01", "2021-02", "2021-03")
BACKFILL_MODES = ((1, 1), (2, 1), (2, 2))  # (runs at a time, taxi_warehouse pool limit)
METHODS: dict[str, Callable[[Target], dict]] = {
    "a": methods.lesson,
    "b": methods.psql_copy,
    "c": methods.load_step,
    "d": methods.job,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="server for the throwaway database (default: %(default)s)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=LESSON_DATASET.published_rows_in(MONTH),
        help="data rows of the measured month (default: %(default)s)",
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions of (b), (c), (d)")
    parser.add_argument(
        "--lesson-reps",
        type=int,
        default=None,
        help="repetitions of (a), the slow lesson loader (default: --reps; 0 skips)",
    )
    parser.add_argument(
        "--lesson-driver",
        choices=("psycopg2", "psycopg"),
        default="psycopg2",
        help="driver behind the lesson's postgresql:// URL: psycopg2 as in the lesson's image "
        "(default), or psycopg 3, what SQLAlchemy 2 picks here",
    )
    parser.add_argument(
        "--memory-rows",
        default="500000,8000000",
        help="small,large month sizes for the flat-memory check ('' skips)",
    )
    parser.add_argument(
        "--backfill-scale",
        type=float,
        default=1.0,
        help="fraction of the real 2021-01..03 sizes for the backfill (0 skips)",
    )
    parser.add_argument("--backfill-reps", type=int, default=2, help="repetitions of each mode")
    parser.add_argument(
        "--dbt-reps",
        type=int,
        default=2,
        help="builds of the month's dbt models after its load, (e) (0 skips)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON results (default: bench/results/bench-<UTC time>.json)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="scratch folder for months, lakes and homes (default: a temp dir)",
    )
    args = parser.parse_args(argv)
    args.lesson_reps = args.reps if args.lesson_reps is None else args.lesson_reps
    return args


def measure(target: Target, args: argparse.Namespace) -> dict[str, dict]:
    """Interleaved repetitions: a, b, c, d, then a, b, c, d again, and so on."""
    runs: dict[str, list[dict]] = {name: [] for name in METHODS}
    for rep in range(max(args.reps, args.lesson_reps)):
        for name, method in METHODS.items():
            if rep >= (args.lesson_reps if name == "a" else args.reps):
                continue
            load = load_average()
            figures = method(target)
            runs[name].append({**figures, "rep": rep + 1, "load_average_before": load})
            _log.info(f"rep {rep + 1} ({name}): {figures['seconds']:.2f} s, load {load}")
    return {name: summary(r) for name, r in runs.items()}


def measure_memory(target: Target, args: argparse.Namespace, mirror: Path) -> dict | None:
    """(c) on a small and a large month: peak memory must not follow the month's size."""
    if not args.memory_rows:
        return None
    sizes = [int(x) for x in args.memory_rows.split(",")]
    generate(dict(zip(MEMORY_MONTHS, sizes, strict=True)), mirror)
    lake = args.workdir / "memory_lake"
    out = {}
    for month, rows in zip(MEMORY_MONTHS, sizes, strict=True):
        warm_lake(target.mirror_url, lake, month)
        out[month] = {"rows": rows, **methods.load_step(target, month, lake)}
        _log.info(f"memory {month} ({rows:,} rows): {out[month]}")
    small, large = (out[m] for m in MEMORY_MONTHS)
    return {"months": out, **memory_verdict(small, large)}


def measure_backfill(target: Target, args: argparse.Namespace, mirror: Path) -> dict | None:
    """Three months one at a time and two at a time, interleaved."""
    if args.backfill_scale <= 0:
        return None
    sizes = {
        m: max(1000, int((LESSON_DATASET.published_rows_in(m) or 0) * args.backfill_scale))
        for m in BACKFILL_MONTHS
    }
    generate({m: n for m, n in sizes.items() if not (m == MONTH and n == args.rows)}, mirror)
    modes: dict[str, list[dict]] = {}
    for _ in range(args.backfill_reps):
        for runs, pool in BACKFILL_MODES:
            figures = {
                **backfill(target, list(BACKFILL_MONTHS), runs, pool),
                "load_average_before": load_average(),
            }
            modes.setdefault(f"{runs} at a time, pool {pool}", []).append(figures)
            _log.info(f"backfill {runs} at a time, pool {pool}: {figures['seconds']:.1f} s")
    return {"rows": sizes, "modes": {mode: summary(r) for mode, r in modes.items()}}


def measure_dbt(target: Target, args: argparse.Namespace, mirror: Path) -> dict | None:
    """(e) the month's dbt models on the month (c) loaded last, beside its load time."""
    if args.dbt_reps <= 0 or args.reps <= 0:  # (c) leaves the month it loaded
        return None
    write_zones(mirror)
    figures = methods.dbt_models(target, args.dbt_reps)
    _log.info(f"dbt models: {[b['step_seconds'] for b in figures['builds']]} s")
    return figures


def run(args: argparse.Namespace) -> dict:
    """Set up, measure everything, tear down; return the results."""
    mirror = args.workdir / "mirror"
    generate({MONTH: args.rows}, mirror)
    started = dt.datetime.now(dt.UTC)
    with throwaway_database(args.pg) as db_url, serve_mirror(mirror) as mirror_url:
        lake_dir = args.workdir / "lake"
        lake_file = warm_lake(mirror_url, lake_dir, MONTH)
        target = Target(
            MONTH,
            args.rows,
            lake_dir,
            lake_file,
            mirror_url,
            db_url,
            args.workdir,
            args.lesson_driver,
        )
        results = {
            "started_utc": started.isoformat(timespec="seconds"),
            "machine": machine(db_url),
            "database": make_url(db_url).database,  # throwaway, dropped at the end
            "month": MONTH,
            "rows": args.rows,
            "config": {k: str(v) for k, v in vars(args).items()},
            "methods": measure(target, args),
        }
        results["ratios"] = ratios(results["methods"])
        results["dbt"] = measure_dbt(target, args, mirror)
        results["memory"] = measure_memory(target, args, mirror)
        results["backfill"] = measure_backfill(target, args, mirror)
        results["load_average_end"] = load_average()
        results["uptime_end"] = machine(db_url)["uptime"]
    return results


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    _log.setLevel(logging.INFO)
    args = parse_args(argv)
    results = run_in_scratch(run, args)
    publish(results, render(results), args.out, "bench")
