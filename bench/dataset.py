"""One month of any dataset: our warehouse step beside `psql \\copy` of the same file, and memory.

    python -m bench.dataset --dataset green --month 2019-10 --rows 476386
    python -m bench.dataset --dataset fhv --month 2019-02 --rows 1700000 --memory-rows 8000000

Generates the month with the project's generator, serves it on loopback, fetches it into a lake
through the raw asset's code, then times (b) `psql \\copy` and (c) the warehouse step in a
process of its own (peak memory included), in a throwaway database. `load_seconds` is the
writer's replace of the month (COPY, gates, swap: what `psql \\copy` compares with);
`step_seconds_with_checks` adds the month's checks. Prints one JSON document.
"""

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench import methods
from bench.workspace import throwaway_database, warm_lake
from taxi_assets.datasets import DATASETS
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror


def measure(args: argparse.Namespace, rows: int, work: Path, db_url: str, mirror: str) -> dict:
    """Median seconds of (b) and (c) for the month at `rows`, and (c)'s memory figures."""
    spec = next(d for d in DATASETS if d.name == args.dataset)
    lake_dir = work / f"lake_{rows}"
    lake_file = warm_lake(mirror, lake_dir, args.month, spec)
    target = methods.Target(
        args.month, rows, lake_dir, lake_file, mirror, db_url, work, dataset=spec
    )
    copies, steps = [], []
    for _ in range(args.reps):  # interleaved, so a busy spell on the machine hits both alike
        copies.append(methods.psql_copy(target)["seconds"])
        steps.append(methods.load_step(target))
    load_seconds = statistics.median(s["seconds"] for s in steps)
    return {
        "rows": rows,
        "file_mb": round(lake_file.stat().st_size / 1e6, 1),
        "psql_copy_seconds": statistics.median(copies),
        "load_seconds": load_seconds,
        "load_over_copy": round(load_seconds / statistics.median(copies), 2),
        "rows_per_second": round(rows / load_seconds),
        "step_seconds_with_checks": statistics.median(s["step_seconds"] for s in steps),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in steps),
        "rss_growth_mb": max(s["rss_growth_mb"] for s in steps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=[d.name for d in DATASETS], required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--memory-rows", type=int, help="a second, larger size for memory")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    sizes = [args.rows, *([args.memory_rows] if args.memory_rows else [])]
    results = []
    with tempfile.TemporaryDirectory() as tmp, throwaway_database(args.pg) as db_url:
        for rows in sizes:
            mirror_root = Path(tmp) / f"mirror_{rows}"
            spec = next(d for d in DATASETS if d.name == args.dataset)
            write_month(args.month, rows, mirror_root, spec=spec)
            with serve_mirror(mirror_root) as mirror:
                results.append(measure(args, rows, Path(tmp), db_url, mirror))
    print(json.dumps({"dataset": args.dataset, "month": args.month, "sizes": results}, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
